package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// newClient returns a keep-alive client that does not follow redirects.
func newClient(timeout time.Duration) *http.Client {
	return &http.Client{
		Timeout:   timeout,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// get asks url and returns the status and Location of the answer.
func get(c *http.Client, url string) (int, string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, "", err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location"), nil
}

// cmdCheck asks the server for n random keys of a sample file
// (path, status, Location) and one path no rule matches (404), and
// fails when any answer differs in status or Location.
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "server base URL, http://127.0.0.1:PORT")
	sample := fs.String("sample", "", "sample.tsv: path, status, Location")
	n := fs.Int("n", 50, "keys to ask")
	seed := fs.Uint64("seed", 1, "which keys")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rows, err := readTSV(*sample)
	if err != nil || *base == "" {
		fmt.Fprintf(stderr, "check: want -url and -sample: %v\n", err)
		return 2
	}
	r := rand.New(rand.NewPCG(*seed, 7))
	c := newClient(5 * time.Second)
	type want struct {
		path   string
		status int
		loc    string
	}
	var wants []want
	for range *n {
		row := rows[r.IntN(len(rows))]
		if len(row) != 3 {
			fmt.Fprintf(stderr, "check: %s: want 3 fields a row, got %q\n", *sample, row)
			return 2
		}
		st, _ := strconv.Atoi(row[1])
		wants = append(wants, want{row[0], st, row[2]})
	}
	wants = append(wants, want{"/bench-no-such-rule/" + strconv.Itoa(r.IntN(1000)), 404, ""})
	bad := 0
	for _, w := range wants {
		st, loc, err := get(c, *base+w.path)
		if err != nil {
			fmt.Fprintf(stderr, "check: %s: %v\n", w.path, err)
			return 1
		}
		if st != w.status || loc != w.loc {
			bad++
			if bad <= 5 {
				fmt.Fprintf(stderr, "check: %s%s: got %d %q, want %d %q\n", *base, w.path, st, loc, w.status, w.loc)
			}
		}
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "check: %d of %d answers wrong\n", bad, len(wants))
		return 1
	}
	fmt.Fprintf(stdout, "%d/%d right\n", len(wants), len(wants))
	return 0
}

// cmdReady asks for one path until the answer is the one wanted, then
// prints the seconds since -since (a Unix time in nanoseconds: when the
// server was started, or the reload signalled).
func cmdReady(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ready", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("url", "", "server base URL")
	path := fs.String("path", "", "path to ask")
	status := fs.Int("status", 307, "status wanted")
	loc := fs.String("location", "", "Location wanted")
	since := fs.Int64("since", 0, "start of the clock, Unix nanoseconds (0: now)")
	timeout := fs.Duration("timeout", 120*time.Second, "give up after")
	every := fs.Duration("interval", 2*time.Millisecond, "pause between tries")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start := time.Now()
	if *since != 0 {
		start = time.Unix(0, *since)
	}
	c := newClient(5 * time.Second)
	deadline := time.Now().Add(*timeout)
	var last string
	for time.Now().Before(deadline) {
		st, l, err := get(c, *base+*path)
		if err == nil && st == *status && l == *loc {
			fmt.Fprintf(stdout, "%.3f\n", time.Since(start).Seconds())
			return 0
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("%d %q", st, l)
		}
		time.Sleep(*every)
	}
	fmt.Fprintf(stderr, "ready: %s%s: no %d %q within %v (last: %s)\n", *base, *path, *status, *loc, *timeout, last)
	return 1
}

// procStat returns utime+stime of a process in clock ticks.
func procStat(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	// The command name may hold spaces: fields count from after ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("cpu time: bad /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, errors.New("cpu time: short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	s, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("cpu time: %w", err)
	}
	return u + s, nil
}

func pidArgs(args []string) ([]int, error) {
	var pids []int
	for _, a := range args {
		for s := range strings.SplitSeq(a, ",") {
			p, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil, fmt.Errorf("pid %q: %w", s, err)
			}
			pids = append(pids, p)
		}
	}
	return pids, nil
}

// cmdCPU prints the summed utime+stime, in clock ticks, of the processes.
func cmdCPU(args []string, stdout, stderr io.Writer) int {
	pids, err := pidArgs(args)
	if err != nil || len(pids) == 0 {
		fmt.Fprintf(stderr, "cpu: want PIDs: %v\n", err)
		return 2
	}
	var sum int64
	for _, p := range pids {
		t, err := procStat(p)
		if err != nil {
			fmt.Fprintf(stderr, "cpu: %d: %v\n", p, err)
			return 2
		}
		sum += t
	}
	fmt.Fprintln(stdout, sum)
	return 0
}

// memory is what /proc says about a process's memory, in kB.
type memory struct {
	rss, hwm, pss int64
}

// procMemory reads VmRSS and VmHWM from /proc/PID/status and, with pss
// set, Pss from /proc/PID/smaps_rollup (0 when the kernel has none; it
// walks the page tables, too slow to sample often).
func procMemory(pid int, pss bool) (memory, error) {
	var m memory
	err := scanKB(fmt.Sprintf("/proc/%d/status", pid), map[string]*int64{"VmRSS:": &m.rss, "VmHWM:": &m.hwm})
	if err != nil {
		return m, err
	}
	if pss {
		scanKB(fmt.Sprintf("/proc/%d/smaps_rollup", pid), map[string]*int64{"Pss:": &m.pss})
	}
	return m, nil
}

func scanKB(name string, fields map[string]*int64) error {
	f, err := os.Open(name)
	if err != nil {
		return fmt.Errorf("memory: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fl := strings.Fields(sc.Text())
		if len(fl) >= 2 {
			if dst, ok := fields[fl[0]]; ok {
				*dst, _ = strconv.ParseInt(fl[1], 10, 64)
			}
		}
	}
	return sc.Err()
}

// tree returns pid and its descendants.
func tree(pid int) []int {
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 {
			parent[p], _ = strconv.Atoi(f[1])
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		for c, pp := range parent {
			if pp == out[i] {
				out = append(out, c)
			}
		}
	}
	return out
}

// cmdPeakRSS samples the summed VmRSS of a process and its descendants
// (nginx's master and workers, old and new, during a reload) until -dur
// has passed or it is sent SIGINT or SIGTERM, then prints the highest sum
// seen, in kB.
func cmdPeakRSS(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("peakrss", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pid := fs.Int("pid", 0, "root process")
	dur := fs.Duration("dur", 10*time.Minute, "sample at most this long")
	every := fs.Duration("interval", 20*time.Millisecond, "pause between samples")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *pid == 0 {
		fmt.Fprintln(stderr, "peakrss: want -pid")
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *dur)
	defer cancel()
	var peak int64
	tick := time.NewTicker(*every)
	defer tick.Stop()
	for {
		var sum int64
		for _, p := range tree(*pid) {
			if m, err := procMemory(p, false); err == nil {
				sum += m.rss
			}
		}
		peak = max(peak, sum)
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, peak)
			return 0
		case <-tick.C:
		}
	}
}
