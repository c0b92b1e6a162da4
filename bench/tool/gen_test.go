package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/match"
	"github.com/detourhttp/detour/ruleset"

	"github.com/detourhttp/detour/internal/testutil"
)

// mustGen generates set into a temporary folder and returns it.
func mustGen(tb testing.TB, set string, next bool) string {
	tb.Helper()
	dir := tb.TempDir()
	args := []string{"gen", "-set", set, "-dir", dir}
	if next {
		args = append(args, "-next")
	}
	var stderr strings.Builder
	if code := run(args, io.Discard, &stderr); code != 0 {
		tb.Fatalf("gen -set %s: exit %d: %s", set, code, stderr.String())
	}
	return dir
}

// detourAnswers loads the detour rules of a generated set with detour's
// own loader and matcher and returns a function that answers a path.
func detourAnswers(tb testing.TB, dir string) func(path string) (int, string) {
	tb.Helper()
	s, ds, err := ruleset.Load(filepath.Join(dir, "detour", "detour.yaml"))
	if err != nil || ds.HasErrors() {
		tb.Fatalf("load: %v %v", err, ds)
	}
	table, ds := s.Compile()
	if ds.HasErrors() {
		tb.Fatalf("compile: %v", ds)
	}
	return func(path string) (int, string) {
		var m match.Match
		req := detour.Request{Method: "GET", Scheme: "http", Host: "127.0.0.1", Path: path}
		if !table.Lookup(&req, time.Now(), &m) {
			return 404, ""
		}
		return m.Status(), m.Location()
	}
}

func show(status int, loc string) string { return fmt.Sprintf("%d %s", status, loc) }

func TestGenDetourRulesGiveTheSampleAnswers(t *testing.T) {
	for _, set := range []string{"1", "10k", "mixed"} {
		t.Run(set, func(t *testing.T) {
			dir := mustGen(t, set, false)
			answer := detourAnswers(t, dir)
			rows, err := readTSV(filepath.Join(dir, "sample.tsv"))
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows {
				status, loc := answer(row[0])
				if got, want := fmt.Sprint(status, " ", loc), row[1]+" "+row[2]; got != want {
					t.Errorf("%s: got %s, want %s", row[0], got, want)
				}
			}
		})
	}
}

func TestGenSampleFollowsTheMix(t *testing.T) {
	dir := mustGen(t, "mixed", false)
	rows, err := readTSV(filepath.Join(dir, "sample.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, row := range rows {
		switch p := row[0]; {
		case strings.HasPrefix(p, "/legacy/"):
			kinds["exact"]++
		case strings.HasPrefix(p, "/s"):
			kinds["splat"]++
		case strings.HasPrefix(p, "/b"):
			kinds["named"]++
		default:
			kinds["regex"]++
		}
	}
	// 40/25/25/10 of 2000, within sampling noise.
	for kind, want := range map[string]int{"exact": 800, "splat": 500, "named": 500, "regex": 200} {
		if got := kinds[kind]; got < want*3/4 || got > want*5/4 {
			t.Errorf("%s keys in the sample: got %d, want about %d", kind, got, want)
		}
	}
}

func TestGenNextRetargetsRuleZeroOnly(t *testing.T) {
	dir := mustGen(t, "10k", true)
	probe, err := readTSV(filepath.Join(dir, "probe.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	path, before, after := probe[0][0], probe[0][2], probe[0][3]
	if got := show(detourAnswers(t, dir)(path)); got != "307 "+before {
		t.Fatalf("before the swap: got %s, want 307 %s", got, before)
	}
	d := filepath.Join(dir, "detour")
	if err := os.Rename(filepath.Join(d, "table.next.csv"), filepath.Join(d, "table.csv")); err != nil {
		t.Fatal(err)
	}
	answer := detourAnswers(t, dir)
	if got := show(answer(path)); got != "307 "+after {
		t.Errorf("after the swap: got %s, want 307 %s", got, after)
	}
	rows, _ := readTSV(filepath.Join(dir, "sample.tsv"))
	for _, row := range rows {
		if status, loc := answer(row[0]); loc != row[2] {
			t.Errorf("%s after the swap: got %d %s, want %s %s", row[0], status, loc, row[1], row[2])
		}
	}
}

// TestGenNginxGivesTheSameAnswers serves each generated nginx
// configuration with the real nginx and checks every sample key.
func TestGenNginxGivesTheSameAnswers(t *testing.T) {
	nginx := testutil.Bin(t, "nginx")
	for _, set := range []string{"1", "10k", "mixed"} {
		t.Run(set, func(t *testing.T) {
			dir := mustGen(t, set, false)
			url := startNginx(t, nginx, dir)
			var out, errs strings.Builder
			if code := run([]string{"check", "-url", url, "-sample", filepath.Join(dir, "sample.tsv"), "-n", "300"}, &out, &errs); code != 0 {
				t.Errorf("check: exit %d: %s", code, errs.String())
			}
		})
	}
}

func startNginx(tb testing.TB, nginx, dir string) string {
	tb.Helper()
	port := testutil.FreePorts(tb, 1)[0]
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	d := tb.TempDir()
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 64; }
http {
    access_log off;
    absolute_redirect off;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[2]s/nginx/http.conf;
    server {
        listen %[3]s;
        include %[2]s/nginx/server.conf;
    }
}
`, d, dir, addr)
	if err := os.WriteFile(filepath.Join(d, "nginx.conf"), []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	testutil.StartProc(tb, nginx, "-p", d, "-c", filepath.Join(d, "nginx.conf"), "-e", filepath.Join(d, "error.log"))
	testutil.WaitPorts(tb, []int{port}, filepath.Join(d, "error.log"))
	return "http://" + addr
}

func TestGenNginxMapHoldsTheTable(t *testing.T) {
	dir := mustGen(t, "10k", false)
	csv, err := os.ReadFile(filepath.Join(dir, "detour", "table.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "nginx", "map.conf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var fromMap []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		from, to, _ := strings.Cut(strings.TrimSuffix(sc.Text(), ";"), " ")
		fromMap = append(fromMap, from+","+to)
	}
	got := strings.Join(fromMap, "\n") + "\n"
	want := strings.TrimPrefix(string(csv), "from,to\n")
	if got != want {
		t.Errorf("map.conf and table.csv differ")
	}
	if n := len(fromMap); n != 10_000 {
		t.Errorf("map entries: got %d, want 10000", n)
	}
}
