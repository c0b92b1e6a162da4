package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// wrkResult is what one wrk run printed.
type wrkResult struct {
	requests int64
	seconds  float64
	rps      float64
	p50, p99 float64 // microseconds
	non3xx   int64   // "Non-2xx or 3xx responses"
	sockErr  int64   // connect + read + write + timeout
}

// parseWrk reads wrk's text output (run with --latency).
func parseWrk(r io.Reader) (wrkResult, error) {
	var w wrkResult
	var haveReq, haveP50, haveP99 bool
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		switch {
		case len(f) >= 4 && f[1] == "requests" && f[2] == "in":
			n, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil {
				return w, fmt.Errorf("wrk: %q: %w", line, err)
			}
			d, err := parseDuration(strings.TrimSuffix(f[3], ","))
			if err != nil {
				return w, fmt.Errorf("wrk: %q: %w", line, err)
			}
			w.requests, w.seconds, haveReq = n, d/1e6, true
		case len(f) == 2 && (f[0] == "50%" || f[0] == "99%"):
			us, err := parseDuration(f[1])
			if err != nil {
				return w, fmt.Errorf("wrk: %q: %w", line, err)
			}
			if f[0] == "50%" {
				w.p50, haveP50 = us, true
			} else {
				w.p99, haveP99 = us, true
			}
		case strings.HasPrefix(line, "Socket errors:"):
			// Socket errors: connect 0, read 12, write 0, timeout 0
			for i := 2; i+1 < len(f); i += 2 {
				n, err := strconv.ParseInt(strings.TrimSuffix(f[i+1], ","), 10, 64)
				if err != nil {
					return w, fmt.Errorf("wrk: %q: %w", line, err)
				}
				w.sockErr += n
			}
		case strings.HasPrefix(line, "Non-2xx or 3xx responses:"):
			n, err := strconv.ParseInt(f[len(f)-1], 10, 64)
			if err != nil {
				return w, fmt.Errorf("wrk: %q: %w", line, err)
			}
			w.non3xx = n
		case strings.HasPrefix(line, "Requests/sec:") && len(f) == 2:
			v, err := strconv.ParseFloat(f[1], 64)
			if err != nil {
				return w, fmt.Errorf("wrk: %q: %w", line, err)
			}
			w.rps = v
		}
	}
	if err := sc.Err(); err != nil {
		return w, fmt.Errorf("wrk: %w", err)
	}
	if !haveReq || !haveP50 || !haveP99 {
		return w, fmt.Errorf("wrk: no request count or latency distribution in its output (run with --latency)")
	}
	return w, nil
}

// parseDuration parses wrk's durations (12.5us, 1.20ms, 3.00s, 1.00m)
// into microseconds.
func parseDuration(s string) (float64, error) {
	units := []struct {
		suffix string
		us     float64
	}{{"us", 1}, {"ms", 1e3}, {"s", 1e6}, {"m", 60e6}, {"h", 3600e6}}
	for _, u := range units {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("duration %q: %w", s, err)
			}
			return f * u.us, nil
		}
	}
	return 0, fmt.Errorf("duration %q: no unit", s)
}

// roundHeader names the columns of rounds.tsv.
const roundHeader = "set\tserver\tround\trequests\tseconds\trps\tcpu_us_per_req\tp50_us\tp99_us\tnon3xx\tsocket_errors\trss_kb\thwm_kb\tpss_kb\tvalid"

// cmdRow turns one wrk run and the server's CPU ticks over it into a row
// of rounds.tsv, appended to -out (header first when the file is new),
// and prints it. Memory is read now: VmRSS of the serving process, the
// highest VmHWM and the summed Pss of all of -pids.
func cmdRow(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("row", flag.ContinueOnError)
	fs.SetOutput(stderr)
	set := fs.String("set", "", "rule set")
	server := fs.String("server", "", "nginx or detour")
	round := fs.String("round", "", "round number")
	wrkFile := fs.String("wrk", "", "wrk's output")
	ticks := fs.Int64("ticks", 0, "server CPU ticks (utime+stime) over the run")
	hz := fs.Int64("hz", 100, "clock ticks a second (getconf CLK_TCK)")
	serving := fs.Int("serving", 0, "the process that serves (nginx's worker)")
	pidList := fs.String("pids", "", "all the server's processes, comma-separated")
	out := fs.String("out", "", "TSV file to append to")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	f, err := os.Open(*wrkFile)
	if err != nil {
		fmt.Fprintf(stderr, "row: %v\n", err)
		return 2
	}
	w, err := parseWrk(f)
	f.Close()
	if err != nil {
		fmt.Fprintf(stderr, "row: %s: %v\n", *wrkFile, err)
		return 2
	}
	pids, err := pidArgs([]string{*pidList})
	if err != nil {
		fmt.Fprintf(stderr, "row: %v\n", err)
		return 2
	}
	var mem memory
	for _, p := range pids {
		m, err := procMemory(p, true)
		if err != nil {
			// Gone (an nginx worker retired by a reload): its
			// memory is not counted, the run's numbers still are.
			fmt.Fprintf(stderr, "row: %d: %v\n", p, err)
			continue
		}
		if p == *serving {
			mem.rss = m.rss
		}
		mem.hwm = max(mem.hwm, m.hwm)
		mem.pss += m.pss
	}
	cpuUS := 0.0
	if w.requests > 0 {
		cpuUS = float64(*ticks) * 1e6 / float64(*hz) / float64(w.requests)
	}
	valid := 0
	if w.requests > 0 && w.non3xx == 0 && w.sockErr == 0 {
		valid = 1
	}
	row := fmt.Sprintf("%s\t%s\t%s\t%d\t%.2f\t%.0f\t%.3f\t%.0f\t%.0f\t%d\t%d\t%d\t%d\t%d\t%d",
		*set, *server, *round, w.requests, w.seconds, w.rps, cpuUS, w.p50, w.p99, w.non3xx, w.sockErr,
		mem.rss, mem.hwm, mem.pss, valid)
	if *out != "" {
		if err := appendRow(*out, roundHeader, row); err != nil {
			fmt.Fprintf(stderr, "row: %v\n", err)
			return 2
		}
	}
	fmt.Fprintln(stdout, row)
	if valid == 0 {
		return 1
	}
	return 0
}

func appendRow(name, header, row string) error {
	_, statErr := os.Stat(name)
	f, err := os.OpenFile(name, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("append: %w", err)
	}
	if os.IsNotExist(statErr) {
		fmt.Fprintln(f, header)
	}
	fmt.Fprintln(f, row)
	if err := f.Close(); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// table is a TSV file with a header row, read by column name.
type table struct {
	cols map[string]int
	rows [][]string
}

func readTable(name string) (*table, error) {
	rows, err := readTSV(name)
	if err != nil {
		return nil, err
	}
	t := &table{cols: map[string]int{}, rows: rows[1:]}
	for i, c := range rows[0] {
		t.cols[c] = i
	}
	return t, nil
}

func (t *table) get(row []string, col string) string {
	if i, ok := t.cols[col]; ok && i < len(row) {
		return row[i]
	}
	return ""
}

func (t *table) num(row []string, col string) float64 {
	v, _ := strconv.ParseFloat(t.get(row, col), 64)
	return v
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// metric is one line of a set's table.
type metric struct {
	col, label string
	scale      float64 // value / scale is shown
	format     string
}

var metrics = [...]metric{
	{"rps", "req/s", 1, "%.0f"},
	{"cpu_us_per_req", "server CPU µs/request", 1, "%.2f"},
	{"p50_us", "p50 latency ms", 1000, "%.3f"},
	{"p99_us", "p99 latency ms", 1000, "%.3f"},
	{"rss_kb", "RSS MB (serving process)", 1024, "%.1f"},
	{"hwm_kb", "peak RSS MB (VmHWM)", 1024, "%.1f"},
	{"pss_kb", "PSS MB (all processes)", 1024, "%.1f"},
}

// setResult holds the summary of one rule set.
type setResult struct {
	name   string
	value  map[string]map[string]float64 // server -> metric -> median
	ratio  map[string]float64            // metric -> median of per-round detour/nginx
	valid  map[string][2]int             // server -> valid, all rounds
	load   map[string]float64            // server -> median load seconds
	reload map[string]map[string]string  // server -> reload column -> value
}

var servers = [...]string{"nginx", "detour"}

func cmdReport(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "output folder of bench/run")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	rounds, err := readTable(filepath.Join(*dir, "rounds.tsv"))
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	results := summarize(rounds)
	if lt, err := readTable(filepath.Join(*dir, "load.tsv")); err == nil {
		addLoad(results, lt)
	}
	if rt, err := readTable(filepath.Join(*dir, "reload.tsv")); err == nil {
		addReload(results, rt)
	}
	meta, _ := os.ReadFile(filepath.Join(*dir, "meta.txt"))
	printText(stdout, results, string(meta))
	md, err := os.Create(filepath.Join(*dir, "results.md"))
	if err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	printMarkdown(md, results, string(meta))
	if err := md.Close(); err != nil {
		fmt.Fprintf(stderr, "report: %v\n", err)
		return 2
	}
	return 0
}

func summarize(t *table) []*setResult {
	var order []string
	bySet := map[string]*setResult{}
	type key struct{ set, server, round string }
	rowOf := map[key][]string{}
	for _, row := range t.rows {
		set, srv := t.get(row, "set"), t.get(row, "server")
		r, ok := bySet[set]
		if !ok {
			r = &setResult{name: set, value: map[string]map[string]float64{}, ratio: map[string]float64{},
				valid: map[string][2]int{}, load: map[string]float64{}, reload: map[string]map[string]string{}}
			bySet[set] = r
			order = append(order, set)
		}
		v := r.valid[srv]
		v[1]++
		if t.get(row, "valid") == "1" {
			v[0]++
			rowOf[key{set, srv, t.get(row, "round")}] = row
		}
		r.valid[srv] = v
	}
	for _, set := range order {
		r := bySet[set]
		for _, srv := range servers {
			r.value[srv] = map[string]float64{}
			for _, m := range metrics {
				var xs []float64
				for k, row := range rowOf {
					if k.set == set && k.server == srv {
						xs = append(xs, t.num(row, m.col))
					}
				}
				r.value[srv][m.col] = median(xs)
			}
		}
		for _, m := range metrics {
			var xs []float64
			for k, d := range rowOf {
				if k.set != set || k.server != "detour" {
					continue
				}
				n, ok := rowOf[key{set, "nginx", k.round}]
				if ok && t.num(n, m.col) > 0 {
					xs = append(xs, t.num(d, m.col)/t.num(n, m.col))
				}
			}
			r.ratio[m.col] = median(xs)
		}
	}
	out := make([]*setResult, 0, len(order))
	for _, s := range order {
		out = append(out, bySet[s])
	}
	return out
}

func find(rs []*setResult, name string) *setResult {
	for _, r := range rs {
		if r.name == name {
			return r
		}
	}
	return nil
}

func addLoad(rs []*setResult, t *table) {
	xs := map[[2]string][]float64{}
	for _, row := range t.rows {
		k := [2]string{t.get(row, "set"), t.get(row, "server")}
		xs[k] = append(xs[k], t.num(row, "seconds"))
	}
	for k, v := range xs {
		if r := find(rs, k[0]); r != nil {
			r.load[k[1]] = median(v)
		}
	}
}

func addReload(rs []*setResult, t *table) {
	for _, row := range t.rows {
		r := find(rs, t.get(row, "set"))
		if r == nil {
			continue
		}
		m := map[string]string{}
		for c := range t.cols {
			m[c] = t.get(row, c)
		}
		r.reload[t.get(row, "server")] = m
	}
}

// describe says what a set holds.
func describe(name string) string {
	sp, ok := specFor(name)
	if !ok {
		return name
	}
	s := fmt.Sprintf("%s exact", group(sp.exact))
	if sp.splats+sp.named+sp.regexes > 0 {
		s += fmt.Sprintf(" + %d splat + %d named + %d regex; requests 40/25/25/10%%", sp.splats, sp.named, sp.regexes)
	}
	return s
}

// shortDescribe names a set in a table cell.
func shortDescribe(name string) string {
	sp, ok := specFor(name)
	if !ok {
		return name
	}
	if n := sp.splats + sp.named + sp.regexes; n > 0 {
		return fmt.Sprintf("%s: %s exact + %s patterns", name, group(sp.exact), group(n))
	}
	return fmt.Sprintf("%s exact", group(sp.exact))
}

// group writes n with thousands separators.
func group(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ratio(a, b float64) string {
	if a == 0 || b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func printText(w io.Writer, rs []*setResult, meta string) {
	fmt.Fprint(w, meta)
	for _, r := range rs {
		fmt.Fprintf(w, "\n== set %s: %s\n", r.name, describe(r.name))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "\tnginx\tdetour\tdetour/nginx\t\n")
		for _, m := range metrics {
			fmt.Fprintf(tw, "%s\t", m.label)
			for _, srv := range servers {
				fmt.Fprintf(tw, m.format+"\t", r.value[srv][m.col]/m.scale)
			}
			if rt := r.ratio[m.col]; rt > 0 {
				fmt.Fprintf(tw, "%.2f\t\n", rt)
			} else {
				fmt.Fprintf(tw, "-\t\n")
			}
		}
		if len(r.load) > 0 {
			fmt.Fprintf(tw, "rule load s (start to first right answer)\t%.3f\t%.3f\t%s\t\n",
				r.load["nginx"], r.load["detour"], ratio(r.load["detour"], r.load["nginx"]))
		}
		fmt.Fprintf(tw, "valid rounds\t%d/%d\t%d/%d\t\t\n",
			r.valid["nginx"][0], r.valid["nginx"][1], r.valid["detour"][0], r.valid["detour"][1])
		tw.Flush()
		if len(r.reload) > 0 {
			fmt.Fprintf(w, "reload under full load (%s rules):\n", describe(r.name))
			for _, srv := range servers {
				m := r.reload[srv]
				if m == nil {
					continue
				}
				fmt.Fprintf(w, "  %-6s new rules answer after %ss; %s requests at %s req/s, non-3xx %s, socket errors %s; peak RSS %s MB (all processes, sampled)\n",
					srv, m["reload_s"], m["requests"], m["rps"], m["non3xx"], m["socket_errors"], mb(m["peak_rss_kb"]))
			}
		}
		for _, srv := range servers {
			if v := r.valid[srv]; v[0] < v[1] {
				fmt.Fprintf(w, "WARNING: %d %s round(s) had non-3xx answers or socket errors and are left out\n", v[1]-v[0], srv)
			}
		}
	}
}

func mb(kb string) string {
	v, err := strconv.ParseFloat(kb, 64)
	if err != nil {
		return kb
	}
	return fmt.Sprintf("%.0f", v/1024)
}

func printMarkdown(w io.Writer, rs []*setResult, meta string) {
	for line := range strings.SplitSeq(strings.TrimSpace(meta), "\n") {
		fmt.Fprintf(w, "%s  \n", line)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| rules | server | req/s | CPU µs/req | p50 ms | p99 ms | RSS MB | peak RSS MB | PSS MB | load s | rounds |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		for i, srv := range servers {
			v := r.value[srv]
			name := ""
			if i == 0 {
				name = shortDescribe(r.name)
			}
			load := "-"
			if l, ok := r.load[srv]; ok {
				load = fmt.Sprintf("%.3f", l)
			}
			fmt.Fprintf(w, "| %s | %s | %.0f | %.2f | %.3f | %.3f | %.1f | %.1f | %.1f | %s | %d/%d |\n", name, srv,
				v["rps"], v["cpu_us_per_req"], v["p50_us"]/1000, v["p99_us"]/1000, v["rss_kb"]/1024, v["hwm_kb"]/1024,
				v["pss_kb"]/1024, load, r.valid[srv][0], r.valid[srv][1])
		}
		rt := func(col string) string {
			if x := r.ratio[col]; x > 0 {
				return fmt.Sprintf("**%.2f**", x)
			}
			return "-"
		}
		fmt.Fprintf(w, "| | detour/nginx | %s | %s | %s | %s | %s | %s | %s | %s | |\n",
			rt("rps"), rt("cpu_us_per_req"), rt("p50_us"), rt("p99_us"), rt("rss_kb"), rt("hwm_kb"), rt("pss_kb"),
			ratio(r.load["detour"], r.load["nginx"]))
	}
	for _, r := range rs {
		if d := describe(r.name); d != shortDescribe(r.name) {
			fmt.Fprintf(w, "\n%s: %s.\n", r.name, d)
		}
	}
	for _, r := range rs {
		for _, srv := range servers {
			if m := r.reload[srv]; m != nil {
				fmt.Fprintf(w, "\nReload of %s under full load, %s: new rules answer after %s s; %s requests, non-3xx %s, socket errors %s; peak RSS %s MB.",
					r.name, srv, m["reload_s"], m["requests"], m["non3xx"], m["socket_errors"], mb(m["peak_rss_kb"]))
			}
		}
	}
	fmt.Fprintln(w)
}
