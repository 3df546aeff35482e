# A report from the case files through coreutils, sed and gawk (deb-bash-script).
set -eu
echo "== words: $(wc -w <words.txt) in $(wc -l <words.txt) lines"
tr -s ' ' '\n' <words.txt | tr 'A-Z' 'a-z' | sort | uniq -c | sort -k1,1nr -k2 | head -n 5
echo "== table by colour"
sort -k3,3 -k2,2n table.txt | gawk '{ n[$3]++; q[$3] += $2 } END { PROCINFO["sorted_in"] = "@ind_str_asc"; for (c in n) printf "%-7s %2d %4d\n", c, n[c], q[c] }'
echo "== numbers"
sort -g nums.txt | sed -n '1p;$p' | paste -sd' '
count=0
for f in tree/*.txt tree/sub/*.txt; do
    count=$((count + $(wc -c <"$f")))
done
echo "bytes in tree texts: $count"
if grep -q zebra words.txt; then echo "zebra"; else echo "no lowercase zebra"; fi
