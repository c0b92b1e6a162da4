package check

import (
	"bufio"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Summary returns "N passed, N failed", and "; N rules skipped" when
// FromRules skipped any.
func (rep *Report) Summary() string {
	s := fmt.Sprintf("%d passed, %d failed", rep.Passed, rep.Failed)
	if n := len(rep.Skipped); n > 0 {
		s += fmt.Sprintf("; %d %s skipped", n, plural(n, "rule", "rules"))
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// WriteText writes the report for a person: each failed case with what
// was expected and what came, each skipped rule, then the summary line.
// Passing cases are not listed.
//
//	FAIL old page moved (fail.yaml:7)
//	  GET http://127.0.0.1:8080/old
//	  status: expected 301, got 302
//
//	1 passed, 1 failed
func WriteText(w io.Writer, rep *Report) error {
	bw := bufio.NewWriter(w)
	for i := range rep.Results {
		r := &rep.Results[i]
		if r.Passed() {
			continue
		}
		kind := "FAIL"
		if r.Error != "" {
			kind = "ERROR"
		}
		fmt.Fprintf(bw, "%s %s", kind, r.Case.Title())
		if r.Case.Source != "" {
			fmt.Fprintf(bw, " (%s)", r.Case.Source)
		}
		fmt.Fprintf(bw, "\n  %s %s\n", r.Method, r.URL)
		if r.Error != "" {
			fmt.Fprintf(bw, "  no response: %s\n", r.Error)
		}
		for _, m := range r.Mismatches {
			fmt.Fprintf(bw, "  %s\n", m)
		}
		bw.WriteByte('\n')
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(bw, "SKIP rule %s", s.Rule)
		if s.Source != "" {
			fmt.Fprintf(bw, " (%s)", s.Source)
		}
		fmt.Fprintf(bw, ": %s\n", s.Reason)
	}
	if len(rep.Skipped) > 0 {
		bw.WriteByte('\n')
	}
	fmt.Fprintln(bw, rep.Summary())
	return bw.Flush()
}

// jsonReport is the shape of WriteJSON.
type jsonReport struct {
	Name       string        `json:"name,omitempty"`
	Passed     int           `json:"passed"`
	Failed     int           `json:"failed"`
	DurationMS float64       `json:"duration_ms"`
	Cases      []jsonCase    `json:"cases"`
	Skipped    []jsonSkipped `json:"skipped"`
}

type jsonCase struct {
	Name        string         `json:"name"`
	Source      string         `json:"source,omitempty"`
	Method      string         `json:"method"`
	URL         string         `json:"url"`
	Host        string         `json:"host,omitempty"`
	Passed      bool           `json:"passed"`
	Expect      jsonExpect     `json:"expect"`
	Status      int            `json:"status,omitempty"`
	Location    *string        `json:"location,omitempty"`
	FinalStatus *int           `json:"final_status,omitempty"`
	Hops        *int           `json:"hops,omitempty"`
	FollowError string         `json:"follow_error,omitempty"`
	Error       string         `json:"error,omitempty"`
	Mismatches  []jsonMismatch `json:"mismatches"`
	DurationMS  float64        `json:"duration_ms"`
}

type jsonExpect struct {
	Status      int     `json:"status,omitempty"`
	Location    *string `json:"location,omitempty"`
	NoLocation  bool    `json:"no_location,omitempty"`
	FinalStatus int     `json:"final_status,omitempty"`
	Hops        *int    `json:"hops,omitempty"`
}

type jsonMismatch struct {
	Field    string `json:"field"`
	Expected string `json:"expected"`
	Got      string `json:"got"`
	Detail   string `json:"detail,omitempty"`
}

type jsonSkipped struct {
	Rule   string `json:"rule"`
	Source string `json:"source,omitempty"`
	Reason string `json:"reason"`
}

// WriteJSON writes the report as one JSON object, for scripts:
//
//	{"name","passed","failed","duration_ms",
//	 "cases":[{"name","source","method","url","host","passed",
//	           "expect":{"status","location","no_location","final_status","hops"},
//	           "status","location","final_status","hops","follow_error","error",
//	           "mismatches":[{"field","expected","got","detail"}],"duration_ms"}],
//	 "skipped":[{"rule","source","reason"}]}
//
// Every case is listed, passing or not. location is what the response
// said (absent when it had none); final_status and hops are present when
// the chain was followed; error is set when there was no response.
func WriteJSON(w io.Writer, rep *Report) error {
	out := jsonReport{Name: rep.Name, Passed: rep.Passed, Failed: rep.Failed, DurationMS: ms(rep.Duration),
		Cases: make([]jsonCase, len(rep.Results)), Skipped: make([]jsonSkipped, len(rep.Skipped))}
	for i := range rep.Results {
		r := &rep.Results[i]
		c := r.Case
		jc := jsonCase{Name: c.Title(), Source: c.Source, Method: r.Method, URL: r.URL, Host: c.Request.Host(),
			Passed: r.Passed(), Status: r.Status, FollowError: r.FollowError, Error: r.Error,
			Mismatches: make([]jsonMismatch, len(r.Mismatches)), DurationMS: ms(r.Duration),
			Expect: jsonExpect{Status: c.Expect.Status, FinalStatus: c.Expect.FinalStatus, Hops: c.Expect.Hops}}
		if l := c.Expect.Location; l != nil {
			if *l == "" {
				jc.Expect.NoLocation = true
			} else {
				jc.Expect.Location = l
			}
		}
		if r.Location != "" {
			jc.Location = &r.Location
		}
		if r.Followed {
			jc.Hops = &r.Hops
			if r.FollowError == "" {
				jc.FinalStatus = &r.FinalStatus
			}
		}
		for j, m := range r.Mismatches {
			jc.Mismatches[j] = jsonMismatch(m)
		}
		out.Cases[i] = jc
	}
	for i, s := range rep.Skipped {
		out.Skipped[i] = jsonSkipped(s)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// ms returns d in milliseconds with microsecond precision.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// The JUnit XML shape that CI systems (Jenkins, GitLab, GitHub Actions
// reporters) read.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
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
	File      string        `xml:"file,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure"`
	Error     *junitProblem `xml:"error"`
	Skipped   *junitSkipped `xml:"skipped"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the report as JUnit XML: one <testsuites> holding one
// <testsuite> named after the report, with tests, failures, errors,
// skipped and time (seconds) attributes; one <testcase> per case, with a
// <failure> carrying the expected-versus-got diff when a field did not
// match, or an <error> when the request got no response; and one skipped
// <testcase> per rule that FromRules skipped.
func WriteJUnit(w io.Writer, rep *Report) error {
	name := rep.Name
	if name == "" {
		name = "detour check"
	}
	suite := junitSuite{Name: name, Time: seconds(rep.Duration),
		Timestamp: rep.Started.UTC().Format("2006-01-02T15:04:05"),
		Cases:     make([]junitCase, 0, len(rep.Results)+len(rep.Skipped))}
	for i := range rep.Results {
		r := &rep.Results[i]
		jc := junitCase{Name: r.Case.Title(), Classname: name, File: sourceFile(r.Case.Source), Time: seconds(r.Duration)}
		switch {
		case r.Error != "":
			suite.Errors++
			jc.Error = &junitProblem{Message: "no response: " + r.Error, Type: "no-response",
				Text: xmlSafe(r.Method + " " + r.URL + "\nno response: " + r.Error + "\n")}
		case len(r.Mismatches) > 0:
			suite.Failures++
			jc.Failure = &junitProblem{Message: mismatchSummary(r.Mismatches), Type: "mismatch", Text: xmlSafe(diff(r))}
		}
		suite.Cases = append(suite.Cases, jc)
	}
	for _, s := range rep.Skipped {
		suite.Skipped++
		suite.Cases = append(suite.Cases, junitCase{Name: "rule " + s.Rule, Classname: name, File: sourceFile(s.Source),
			Time: "0.000", Skipped: &junitSkipped{Message: s.Reason}})
	}
	suite.Tests = len(suite.Cases)
	out := junitSuites{Name: "detour check", Tests: suite.Tests, Failures: suite.Failures, Errors: suite.Errors,
		Skipped: suite.Skipped, Time: suite.Time, Suites: []junitSuite{suite}}
	bw := bufio.NewWriter(w)
	bw.WriteString(xml.Header)
	enc := xml.NewEncoder(bw)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("junit: %w", err)
	}
	bw.WriteByte('\n')
	return bw.Flush()
}

// seconds formats d as JUnit's time attribute: seconds, three decimals.
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) }

// sourceFile is the file of a "file:line" source.
func sourceFile(src string) string {
	if i := strings.LastIndexByte(src, ':'); i > 0 {
		if _, err := strconv.Atoi(src[i+1:]); err == nil {
			return src[:i]
		}
	}
	return src
}

// mismatchSummary joins the mismatches on one line, without details.
func mismatchSummary(ms []Mismatch) string {
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = fmt.Sprintf("%s: expected %s, got %s", m.Field, m.Expected, m.Got)
	}
	return strings.Join(parts, "; ")
}

// diff renders a failed case as a diff of the expected and got fields:
//
//	GET http://127.0.0.1:8080/old
//	- status: 301
//	+ status: 302
func diff(r *Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL)
	if r.Case.Source != "" {
		fmt.Fprintf(&b, "(%s)\n", r.Case.Source)
	}
	for _, m := range r.Mismatches {
		fmt.Fprintf(&b, "- %s: %s\n+ %s: %s\n", m.Field, m.Expected, m.Field, m.Got)
		if m.Detail != "" {
			fmt.Fprintf(&b, "  %s\n", m.Detail)
		}
	}
	return b.String()
}

// xmlSafe replaces the characters XML 1.0 cannot carry (most control
// characters, invalid UTF-8) with U+FFFD; encoding/xml does so for
// attributes and character data, but not inside CDATA.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xfffe, r == 0xffff, r == utf8.RuneError, 0xd800 <= r && r <= 0xdfff:
			return utf8.RuneError
		}
		return r
	}, s)
}
