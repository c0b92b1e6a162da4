package check_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/detourhttp/detour/check"
)

// sampleReport is a report of three cases — one passed, one failed, one
// without response — and one skipped rule, built by hand so that its text
// is fixed.
func sampleReport() *check.Report {
	cases := []check.Case{
		{Name: "passes", Source: "c.yaml:2", Request: check.Request{URL: "/a"}, Expect: check.Expect{Status: 307}},
		{Source: "c.yaml:4", Request: check.Request{Method: "POST", URL: "/old", Headers: []check.Header{{Name: "Host", Value: "example.com"}}},
			Expect: check.Expect{Status: 301, Location: ptr("/new"), FinalStatus: 200, Hops: ptr(1)}},
		{Name: "down", Source: "c.yaml:6", Request: check.Request{URL: "http://down.example/x"}, Expect: check.Expect{Status: 301}},
	}
	return &check.Report{
		Name:    "c.yaml",
		Started: time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC),
		Results: []check.Result{
			{Case: &cases[0], Method: "GET", URL: "http://127.0.0.1:8080/a", Status: 307, Location: "/b", Duration: 1500 * time.Microsecond},
			{Case: &cases[1], Method: "POST", URL: "http://127.0.0.1:8080/old", Status: 302, Location: "http://example.com/newer",
				Followed: true, FinalStatus: 200, Hops: 1, Duration: 2 * time.Millisecond,
				Mismatches: []check.Mismatch{
					{Field: "status", Expected: "301", Got: "302"},
					{Field: "location", Expected: `"/new"`, Got: `"http://example.com/newer"`,
						Detail: "resolved against http://example.com/old: expected http://example.com/new, got http://example.com/newer"},
				}},
			{Case: &cases[2], Method: "GET", URL: "http://down.example/x", Error: "dial tcp: connection refused", Duration: time.Millisecond},
		},
		Skipped:  []check.Skipped{{Rule: "later", Source: "rules.yaml:9", Reason: "its window is not active"}},
		Passed:   1,
		Failed:   2,
		Duration: 1234 * time.Millisecond,
	}
}

func TestWriteText(t *testing.T) {
	var b bytes.Buffer
	if err := check.WriteText(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	want := `FAIL POST /old [Host: example.com] (c.yaml:4)
  POST http://127.0.0.1:8080/old
  status: expected 301, got 302
  location: expected "/new", got "http://example.com/newer" (resolved against http://example.com/old: expected http://example.com/new, got http://example.com/newer)

ERROR down (c.yaml:6)
  GET http://down.example/x
  no response: dial tcp: connection refused

SKIP rule later (rules.yaml:9): its window is not active

1 passed, 2 failed; 1 rule skipped
`
	if got := b.String(); got != want {
		t.Errorf("text report\n--- got\n%s--- want\n%s", got, want)
	}

	t.Run("all passed", func(t *testing.T) {
		rep := sampleReport()
		rep.Results, rep.Skipped, rep.Passed, rep.Failed = rep.Results[:1], nil, 1, 0
		b.Reset()
		check.WriteText(&b, rep)
		if got, want := b.String(), "1 passed, 0 failed\n"; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	})
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := check.WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(`{
  "name": "c.yaml", "passed": 1, "failed": 2, "duration_ms": 1234,
  "cases": [
    {"name": "passes", "source": "c.yaml:2", "method": "GET", "url": "http://127.0.0.1:8080/a", "passed": true,
     "expect": {"status": 307}, "status": 307, "location": "/b", "mismatches": [], "duration_ms": 1.5},
    {"name": "POST /old [Host: example.com]", "source": "c.yaml:4", "method": "POST", "url": "http://127.0.0.1:8080/old",
     "host": "example.com", "passed": false,
     "expect": {"status": 301, "location": "/new", "final_status": 200, "hops": 1},
     "status": 302, "location": "http://example.com/newer", "final_status": 200, "hops": 1,
     "mismatches": [
       {"field": "status", "expected": "301", "got": "302"},
       {"field": "location", "expected": "\"/new\"", "got": "\"http://example.com/newer\"",
        "detail": "resolved against http://example.com/old: expected http://example.com/new, got http://example.com/newer"}],
     "duration_ms": 2},
    {"name": "down", "source": "c.yaml:6", "method": "GET", "url": "http://down.example/x", "passed": false,
     "expect": {"status": 301}, "error": "dial tcp: connection refused", "mismatches": [], "duration_ms": 1}
  ],
  "skipped": [{"rule": "later", "source": "rules.yaml:9", "reason": "its window is not active"}]
}`), &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("JSON report\n got %v\nwant %v", got, want)
	}
	if strings.Contains(b.String(), `\u0026`) {
		t.Error("JSON escapes & in URLs")
	}
}

// junit* mirror the JUnit XML shape for the test to read it back.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *struct {
		Message string `xml:"message,attr"`
	} `xml:"skipped"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

func readJUnit(t *testing.T, data []byte) junitSuites {
	t.Helper()
	var s junitSuites
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("JUnit XML does not parse: %v\n%s", err, data)
	}
	return s
}

func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := check.WriteJUnit(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), `<?xml version="1.0" encoding="UTF-8"?>`) {
		t.Errorf("no XML declaration:\n%s", b.String())
	}
	s := readJUnit(t, b.Bytes())
	if s.Tests != 4 || s.Failures != 1 || s.Errors != 1 || s.Skipped != 1 || s.Time != "1.234" || len(s.Suites) != 1 {
		t.Errorf("testsuites: %+v", s)
	}
	suite := s.Suites[0]
	if suite.Name != "c.yaml" || suite.Tests != 4 || suite.Failures != 1 || suite.Errors != 1 || suite.Skipped != 1 ||
		suite.Time != "1.234" || suite.Timestamp != "2026-06-01T12:00:00" {
		t.Errorf("testsuite: %+v", suite)
	}
	if len(suite.Cases) != 4 {
		t.Fatalf("%d testcases, want 4", len(suite.Cases))
	}
	pass, fail, down, skip := suite.Cases[0], suite.Cases[1], suite.Cases[2], suite.Cases[3]
	if pass.Name != "passes" || pass.Classname != "c.yaml" || pass.File != "c.yaml" || pass.Time != "0.002" ||
		pass.Failure != nil || pass.Error != nil || pass.Skipped != nil {
		t.Errorf("passing testcase: %+v", pass)
	}
	if fail.Name != "POST /old [Host: example.com]" || fail.Failure == nil || fail.Error != nil {
		t.Fatalf("failed testcase: %+v", fail)
	}
	wantMsg := `status: expected 301, got 302; location: expected "/new", got "http://example.com/newer"`
	wantDiff := `POST http://127.0.0.1:8080/old
(c.yaml:4)
- status: 301
+ status: 302
- location: "/new"
+ location: "http://example.com/newer"
  resolved against http://example.com/old: expected http://example.com/new, got http://example.com/newer
`
	if fail.Failure.Message != wantMsg || fail.Failure.Type != "mismatch" || fail.Failure.Text != wantDiff {
		t.Errorf("failure\n got %q %q\n%s\nwant %q\n%s", fail.Failure.Message, fail.Failure.Type, fail.Failure.Text, wantMsg, wantDiff)
	}
	if down.Error == nil || down.Error.Message != "no response: dial tcp: connection refused" || down.Failure != nil {
		t.Errorf("testcase without response: %+v", down)
	}
	if skip.Name != "rule later" || skip.Skipped == nil || skip.Skipped.Message != "its window is not active" || skip.File != "rules.yaml" {
		t.Errorf("skipped testcase: %+v", skip)
	}
}

func TestWriteJUnitHostileText(t *testing.T) {
	// A Location from a server may hold anything a header may: "]]>"
	// and characters XML cannot carry must not break the report.
	rep := sampleReport()
	rep.Results[1].Mismatches[1].Got = "\"/x]]>\x01<y>\""
	var b bytes.Buffer
	if err := check.WriteJUnit(&b, rep); err != nil {
		t.Fatal(err)
	}
	s := readJUnit(t, b.Bytes())
	if txt := s.Suites[0].Cases[1].Failure.Text; !strings.Contains(txt, "/x]]>") || !strings.Contains(txt, "<y>") {
		t.Errorf("failure text %q lost the Location", txt)
	}
}
