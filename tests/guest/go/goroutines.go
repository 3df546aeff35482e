// A static Go program (issue 16): goroutines on the Go runtime's threads (clone with
// CLONE_THREAD, futex, sigaltstack, signals for preemption), channels, sync.WaitGroup
// and Mutex, select with a timer, a worker pool, and a parallel reduction. Built with
// GOARCH=arm64 CGO_ENABLED=0; its output is compared byte for byte with qemu-aarch64's
// (scripts/conformance.sh, go-goroutines-*).
//
// Usage: goroutines SECTION   (all, chan, pool, mutex, select, sort)
package main

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A pipeline of three stages joined by channels.
func sectionChan() {
	gen := make(chan int)
	sq := make(chan int, 4)
	go func() {
		for i := 1; i <= 100; i++ {
			gen <- i
		}
		close(gen)
	}()
	go func() {
		for v := range gen {
			sq <- v * v
		}
		close(sq)
	}()
	sum := 0
	for v := range sq {
		sum += v
	}
	fmt.Println("chan: sum of squares", sum)
	done := make(chan struct{})
	var got []string
	go func() {
		defer close(done)
		for _, w := range strings.Fields("the quick brown fox") {
			got = append(got, strings.ToUpper(w))
		}
	}()
	<-done
	fmt.Println("chan:", strings.Join(got, "-"))
}

// A worker pool: jobs on one channel, results on another, a WaitGroup to close it.
func sectionPool() {
	jobs := make(chan int, 100)
	results := make(chan [2]int, 100)
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				a, b := 0, 1
				for i := 0; i < n; i++ {
					a, b = b, (a+b)%1000000007
				}
				results <- [2]int{n, a}
			}
		}()
	}
	for n := 1; n <= 60; n++ {
		jobs <- n * 37
	}
	close(jobs)
	go func() { wg.Wait(); close(results) }()
	out := map[int]int{}
	for r := range results {
		out[r[0]] = r[1]
	}
	keys := make([]int, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	total := 0
	for _, k := range keys {
		total = (total + out[k]) % 1000000007
	}
	fmt.Println("pool:", len(out), "results, fib(37)", out[37], "fib(2220)", out[2220], "total", total)
}

// A Mutex-protected map and an atomic counter from many goroutines.
func sectionMutex() {
	var mu sync.Mutex
	var hits int64
	counts := map[string]int{}
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				atomic.AddInt64(&hits, 1)
				mu.Lock()
				counts[fmt.Sprintf("k%d", (g*i)%7)]++
				mu.Unlock()
				if i%100 == 0 {
					runtime.Gosched()
				}
			}
		}(g)
	}
	wg.Wait()
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%d", k, counts[k])
	}
	fmt.Println("mutex: hits", atomic.LoadInt64(&hits), "counts"+b.String())
	var once sync.Once
	for i := 0; i < 3; i++ {
		once.Do(func() { fmt.Println("mutex: once") })
	}
}

// select over a channel and timers: a timeout fires, a ticker ticks, a value wins.
func sectionSelect() {
	c := make(chan string)
	select {
	case v := <-c:
		fmt.Println("select: unexpected", v)
	case <-time.After(20 * time.Millisecond):
		fmt.Println("select: timeout")
	}
	go func() { time.Sleep(5 * time.Millisecond); c <- "value" }()
	select {
	case v := <-c:
		fmt.Println("select:", v)
	case <-time.After(5 * time.Second):
		fmt.Println("select: too slow")
	}
	t := time.NewTicker(2 * time.Millisecond)
	n := 0
	for range t.C {
		n++
		if n == 5 {
			break
		}
	}
	t.Stop()
	fmt.Println("select: ticks", n)
	start := time.Now()
	time.Sleep(10 * time.Millisecond)
	fmt.Println("select: slept enough", time.Since(start) >= 10*time.Millisecond)
}

// A parallel merge sort: each half sorted by its own goroutine down to a cut-off.
func mergeSort(a []int, depth int) {
	if len(a) < 2 {
		return
	}
	m := len(a) / 2
	if depth > 0 {
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); mergeSort(a[:m], depth-1) }()
		go func() { defer wg.Done(); mergeSort(a[m:], depth-1) }()
		wg.Wait()
	} else {
		sort.Ints(a[:m])
		sort.Ints(a[m:])
	}
	tmp := make([]int, 0, len(a))
	i, j := 0, m
	for i < m && j < len(a) {
		if a[i] <= a[j] {
			tmp = append(tmp, a[i])
			i++
		} else {
			tmp = append(tmp, a[j])
			j++
		}
	}
	tmp = append(tmp, a[i:m]...)
	tmp = append(tmp, a[j:]...)
	copy(a, tmp)
}

func sectionSort() {
	a := make([]int, 50000)
	x := uint32(12345)
	for i := range a {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		a[i] = int(x % 100000)
	}
	mergeSort(a, 4)
	fmt.Println("sort: sorted", sort.IntsAreSorted(a), "first", a[0], "median", a[len(a)/2], "last", a[len(a)-1])
	// Not the count itself: a merging goroutine that called wg.Done may not have exited
	// yet when wg.Wait returns (qemu printed 2 and gpuos 1 in one run).
	fmt.Println("sort: GOMAXPROCS>0", runtime.GOMAXPROCS(0) > 0, "NumGoroutine>=1", runtime.NumGoroutine() >= 1)
}

func main() {
	s := "all"
	if len(os.Args) > 1 {
		s = os.Args[1]
	}
	all := s == "all"
	if all || s == "chan" {
		sectionChan()
	}
	if all || s == "pool" {
		sectionPool()
	}
	if all || s == "mutex" {
		sectionMutex()
	}
	if all || s == "select" {
		sectionSelect()
	}
	if all || s == "sort" {
		sectionSort()
	}
}
