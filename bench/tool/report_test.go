package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wrkClean = `Running 5s test @ http://127.0.0.1:40123
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   612.34us  201.10us  12.01ms   91.00%
    Req/Sec    52.10k     1.20k   54.00k    80.00%
  Latency Distribution
     50%  580.00us
     75%  650.00us
     90%  720.00us
     99%    1.21ms
  259230 requests in 5.00s, 71.19MB read
Requests/sec:  51845.12
Transfer/sec:     14.24MB
`

const wrkErrors = `Running 10s test @ http://127.0.0.1:40123
  1 threads and 64 connections
  Latency Distribution
     50%    2.10ms
     75%    3.00ms
     90%    4.00ms
     99%    1.20s
  100000 requests in 1.00m, 20.00MB read
  Socket errors: connect 1, read 12, write 3, timeout 4
  Non-2xx or 3xx responses: 17
Requests/sec:  1666.67
Transfer/sec:      0.33MB
`

func TestParseWrk(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    wrkResult
		wantErr bool
	}{
		{name: "clean run", in: wrkClean,
			want: wrkResult{requests: 259230, seconds: 5, rps: 51845.12, p50: 580, p99: 1210}},
		{name: "errors counted, minutes and seconds", in: wrkErrors,
			want: wrkResult{requests: 100000, seconds: 60, rps: 1666.67, p50: 2100, p99: 1.2e6, non3xx: 17, sockErr: 20}},
		{name: "without --latency", in: "  259230 requests in 5.00s, 71.19MB read\nRequests/sec:  51845.12\n", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWrk(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    float64
		wantErr bool
	}{
		{"612.34us", 612.34, false},
		{"1.21ms", 1210, false},
		{"3.00s", 3e6, false},
		{"1.50m", 90e6, false},
		{"12", 0, true},
		{"abcms", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if math.Abs(got-tt.want) > 1e-6 {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want float64
	}{
		{"empty", nil, 0},
		{"one", []float64{3}, 3},
		{"odd, unsorted", []float64{5, 1, 3}, 3},
		{"even", []float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := median(tt.in); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSummarize checks that the ratio is the median of per-round ratios,
// not the ratio of medians, and that invalid rounds are left out.
func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	rows := []string{
		roundHeader,
		// round 1: detour 2x nginx's CPU; round 2: 1x; round 3: 1.5x;
		// round 4: detour had errors, left out.
		"10k\tnginx\t1\t100\t5\t100\t10\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tdetour\t1\t100\t5\t100\t20\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tnginx\t2\t100\t5\t100\t30\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tdetour\t2\t100\t5\t100\t30\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tnginx\t3\t100\t5\t100\t20\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tdetour\t3\t100\t5\t100\t30\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tnginx\t4\t100\t5\t100\t10\t500\t1000\t0\t0\t1024\t2048\t1024\t1",
		"10k\tdetour\t4\t100\t5\t100\t99\t500\t1000\t3\t0\t1024\t2048\t1024\t0",
	}
	name := filepath.Join(dir, "rounds.tsv")
	if err := os.WriteFile(name, []byte(strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, err := readTable(name)
	if err != nil {
		t.Fatal(err)
	}
	rs := summarize(tab)
	if len(rs) != 1 {
		t.Fatalf("sets: got %d, want 1", len(rs))
	}
	r := rs[0]
	if got, want := r.ratio["cpu_us_per_req"], 1.5; got != want {
		t.Errorf("CPU ratio: got %v, want %v (median of 2, 1, 1.5)", got, want)
	}
	if got, want := r.value["nginx"]["cpu_us_per_req"], 15.0; got != want {
		t.Errorf("nginx CPU median: got %v, want %v", got, want)
	}
	if got, want := r.value["detour"]["cpu_us_per_req"], 30.0; got != want {
		t.Errorf("detour CPU median: got %v, want %v", got, want)
	}
	if got, want := r.valid["detour"], [2]int{3, 4}; got != want {
		t.Errorf("detour valid rounds: got %v, want %v", got, want)
	}
}
