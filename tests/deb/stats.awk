# Mean, standard deviation and a histogram of table.txt's numbers (deb-gawk-script).
{ q[NR] = $2; p[NR] = $4; sq += $2; sp += $4; name[NR] = $1 }
END {
    mq = sq / NR
    for (i = 1; i <= NR; i++) v += (q[i] - mq) ^ 2
    printf "n=%d mean=%.4f sd=%.6f\n", NR, mq, sqrt(v / (NR - 1))
    printf "price mean=%.3f log=%.9f exp=%.6e\n", sp / NR, log(sp), exp(sp / NR)
    for (i = 1; i <= NR; i++) {
        bar = sprintf("%*s", int(log(q[i]) * 4), "")
        gsub(/ /, "#", bar)
        printf "%-7s %3d %s\n", name[i], q[i], bar
    }
    n = split("3 1 2 10 -4", a, " "); asort(a)
    for (i = 1; i <= n; i++) printf "%s%s", a[i], (i < n ? "," : "\n")
    print toupper(substr("gawk rocks", 1, 4)), index("hello", "ll"), length("façade"), gensub(/(o+)/, "[\\1]", "g", "foo boo")
}
