package ruleset_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"detour.yaml": "rules:\n  - {id: a, from: /a, to: /b}\n"})
	path := filepath.Join(dir, "detour.yaml")
	s, ds, err := ruleset.Load(path)
	if err != nil || len(ds) > 0 {
		t.Fatalf("Load: %v %v", err, ds)
	}
	if want := []string{path}; !reflect.DeepEqual(s.Files, want) {
		t.Errorf("Files = %q, want %q", s.Files, want)
	}
	if got, want := s.Rules[0].Source, (detour.Source{File: path, Line: 2}); got != want {
		t.Errorf("Source = %+v, want %+v", got, want)
	}
}

func TestLoadCannotRead(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		path string
	}{
		{"missing file", filepath.Join(dir, "nope.yaml")},
		{"missing folder", filepath.Join(dir, "nope", "rules")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ds, err := ruleset.Load(tc.path)
			if !errors.Is(err, fs.ErrNotExist) || s != nil || ds != nil {
				t.Errorf("Load = %v, %v, %v; want nil, nil, an error wrapping fs.ErrNotExist", s, ds, err)
			}
		})
	}
}

func TestLoadFolder(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"b.yaml":          "rules:\n  - {id: b1, from: /b1, to: /x}\n  - {id: b2, from: /b2, to: /x}\n",
		"a.yaml":          "order: first-match\nrules:\n  - {id: a1, from: /a1, to: /x}\n",
		"c.yaml":          "# nothing but a comment\nrules: []\n",
		"d.yml":           "rules:\n  - {id: ignored-yml, from: /d, to: /x}\n",
		".hidden.yaml":    "rules:\n  - {id: ignored-dot, from: /h, to: /x}\n",
		"notes.txt":       "not rules",
		"sub/e.yaml":      "rules:\n  - {id: ignored-sub, from: /e, to: /x}\n",
		"linked.yaml":     "->sub/e.yaml",
		".#lock.yaml":     "->nowhere@123",
		"e-dangling.yaml": "->missing.yaml",
	})
	s, ds, err := ruleset.Load(dir)
	if err != nil || len(ds) > 0 {
		t.Fatalf("Load: %v\n%v", err, ds.Error())
	}
	var got []string
	for _, r := range s.Rules {
		got = append(got, fmt.Sprintf("%s %s:%d #%d", r.ID, filepath.Base(r.Source.File), r.Source.Line, r.Source.Seq))
	}
	want := []string{"a1 a.yaml:3 #0", "b1 b.yaml:2 #1", "b2 b.yaml:3 #2", "ignored-sub linked.yaml:2 #3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rules:\n got %q\nwant %q", got, want)
	}
	if s.Order != detour.OrderFirstMatch {
		t.Errorf("Order = %q, want first-match (set by a.yaml, not contradicted)", s.Order)
	}
	var files []string
	for _, f := range s.Files {
		files = append(files, filepath.Base(f))
	}
	if want := []string{"a.yaml", "b.yaml", "c.yaml", "linked.yaml"}; !reflect.DeepEqual(files, want) {
		t.Errorf("Files = %q, want %q", files, want)
	}
}

func TestLoadFolderErrors(t *testing.T) {
	cases := []struct {
		name  string
		files map[string]string
		want  []string // briefs, with file names relative to the folder
		msg   string
	}{
		{
			name:  "order disagrees",
			files: map[string]string{"a.yaml": "order: first-match\n", "b.yaml": "rules: []\norder: specificity\n"},
			want:  []string{"b.yaml:2 error order conflict"},
			msg:   "a.yaml:1",
		},
		{
			name:  "merge_slashes disagrees",
			files: map[string]string{"a.yaml": "merge_slashes: true\n", "b.yaml": "merge_slashes: false\n"},
			want:  []string{"b.yaml:1 error merge_slashes conflict"},
			msg:   "a.yaml:1",
		},
		{
			name:  "files that agree",
			files: map[string]string{"a.yaml": "merge_slashes: true\norder: first-match\n", "b.yaml": "order: first-match\nmerge_slashes: true\n"},
		},
		{
			name: "duplicate id across files",
			files: map[string]string{
				"a.yaml": "rules:\n  - {id: same, from: /a, to: /b}\n",
				"b.yaml": "rules:\n  - from: /c\n    to: /d\n    id: same\n",
			},
			want: []string{"b.yaml:4 error rules[0].id duplicate-id"},
			msg:  "a.yaml:2",
		},
		{
			name:  "an error in one file, the others still read",
			files: map[string]string{"a.yaml": "rules: [\n", "b.yaml": "rules:\n  - {id: b, from: /b, to: /c}\n"},
			want:  []string{"a.yaml:2 error  syntax"},
		},
		{
			name:  "empty folder",
			files: map[string]string{"readme.txt": "x"},
			want:  []string{":0 error  invalid"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			_, ds, err := ruleset.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			assertDiagsIn(t, ds, dir, tc.msg, tc.want...)
		})
	}
}

func TestLoadFileSizeCap(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "rules:\n" + strings.Repeat("  - {from: /a, to: /b}\n", 10), "b.yaml": "rules: []\n"})
	l := ruleset.Loader{MaxFileSize: 100}
	for _, path := range []string{dir, filepath.Join(dir, "a.yaml")} {
		_, ds, err := l.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		assertDiags(t, ds, filepath.Join(dir, "a.yaml")+":0 error  too-large")
	}
}

func TestLoadTables(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules.yaml": `merge_slashes: true
defaults: {status: 308}
tables:
  - file: legacy.csv
    status: 301
    host: example.com
  - file: tables/other.csv
`,
		"legacy.csv": "\ufefffrom,to,status\n" +
			"/old,/new\n" +
			"\n" +
			"# a comment\n" +
			"/gone,,410\n" +
			"/temp,/elsewhere,302\n" +
			"  /spaced , /trimmed \n" +
			"https://Shop.Example.com:8443/cart,/basket\n" +
			"http://other.example,/root\n" +
			"\"/with,comma\",\"/quoted\"\n" +
			"/a%2Fb//c/./d/../e,/normalised\n",
		"tables/other.csv": "/x,/y",
	})
	s, ds, err := ruleset.Load(filepath.Join(dir, "rules.yaml"))
	if err != nil || len(ds) > 0 {
		t.Fatalf("Load: %v\n%v", err, ds.Error())
	}
	if len(s.Tables) != 2 {
		t.Fatalf("got %d tables, want 2", len(s.Tables))
	}
	tb := s.Tables[0]
	if tb.ID != "table:legacy.csv" || tb.Status != 301 || tb.Host != "example.com" {
		t.Errorf("table = %+v", tb)
	}
	want := []detour.Row{
		{Line: 2, Path: "/old", To: "/new"},
		{Line: 5, Path: "/gone", Status: 410},
		{Line: 6, Path: "/temp", To: "/elsewhere", Status: 302},
		{Line: 7, Path: "/spaced", To: "/trimmed"},
		{Line: 8, Host: "shop.example.com", Path: "/cart", To: "/basket"},
		{Line: 9, Host: "other.example", Path: "/", To: "/root"},
		{Line: 10, Path: "/with,comma", To: "/quoted"},
		{Line: 11, Path: "/a/b/c/e", To: "/normalised"},
	}
	if !reflect.DeepEqual(tb.Rows, want) {
		t.Errorf("rows:\n got %+v\nwant %+v", tb.Rows, want)
	}
	if got := s.Tables[1]; got.Status != 308 || len(got.Rows) != 1 || got.Rows[0].Line != 1 {
		t.Errorf("second table = %+v, want status 308 from defaults and one row on line 1", got)
	}
	wantFiles := []string{filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "legacy.csv"), filepath.Join(dir, "tables", "other.csv")}
	if !reflect.DeepEqual(s.Files, wantFiles) {
		t.Errorf("Files = %q, want %q", s.Files, wantFiles)
	}
}

func TestLoadTableErrors(t *testing.T) {
	outside := t.TempDir()
	writeFiles(t, outside, map[string]string{"secret.csv": "/a,/b\n"})
	long := "/" + strings.Repeat("x", 200)
	cases := []struct {
		name  string
		files map[string]string // rules.yaml references t.csv unless given
		want  []string          // briefs; file names relative to the folder
		msg   string
	}{
		{
			name:  "bad rows name their line and text",
			files: map[string]string{"t.csv": "from,to\n/a,/b\nnot-a-path,/c\n/d\n/e,/f,999\n" + long + ",/g,1\n/h,\n/i%zz,/j\n/k?x=1,/l\nhttps:///m,/n\n/o,/p\n"},
			want: []string{
				"t.csv:3 error from table", "t.csv:4 error  table", "t.csv:5 error status table", "t.csv:6 error status table",
				"t.csv:7 error to table", "t.csv:8 error from table", "t.csv:9 error from table", "t.csv:10 error from table",
			},
			msg: `"not-a-path,/c"`,
		},
		{
			name:  "the row text is cut short",
			files: map[string]string{"t.csv": long + ",/g,1\n"},
			want:  []string{"t.csv:1 error status table"},
			msg:   `…"`,
		},
		{
			name:  "a broken quote",
			files: map[string]string{"t.csv": "/a,/b\n\"/c,/d\n"},
			want:  []string{"t.csv:2 error  table"},
		},
		{
			name:  "missing table file",
			files: map[string]string{},
			want:  []string{"rules.yaml:3 error tables[0].file table"},
			msg:   "no such file",
		},
		{
			name:  "a symlink out of the folder",
			files: map[string]string{"t.csv": "->" + filepath.Join(outside, "secret.csv")},
			want:  []string{"rules.yaml:3 error tables[0].file table"},
			msg:   "leaves the rules file's folder",
		},
		{
			name:  "a symlinked folder out of the folder",
			files: map[string]string{"rules.yaml": "tables:\n  - file: sub/secret.csv\n", "sub": "->" + outside},
			want:  []string{"rules.yaml:2 error tables[0].file table"},
			msg:   "leaves the rules file's folder",
		},
		{
			name:  "a symlink within the folder, as a ConfigMap mounts it",
			files: map[string]string{"t.csv": "->..data/t.csv", "..data": "->..2026_01_01", "..2026_01_01/t.csv": "/a,/b\n"},
		},
		{
			name:  "dot-dot",
			files: map[string]string{"rules.yaml": "tables:\n  - file: ../secret.csv\n"},
			want:  []string{"rules.yaml:2 error tables[0].file table"},
			msg:   "leaves",
		},
		{
			name:  "absolute path",
			files: map[string]string{"rules.yaml": "tables:\n  - file: " + filepath.Join(outside, "secret.csv") + "\n"},
			want:  []string{"rules.yaml:2 error tables[0].file table"},
			msg:   "absolute",
		},
		{
			name:  "a folder is not a table",
			files: map[string]string{"t.csv/x": "x"},
			want:  []string{"rules.yaml:3 error tables[0].file table"},
			msg:   "not a regular file",
		},
		{
			name:  "too many bad rows are counted, not listed",
			files: map[string]string{"t.csv": "/ok,/x\n" + strings.Repeat("bad,/x\n", 150)},
			want:  append(repeatBriefs(100), "t.csv:0 error  table"),
			msg:   "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, ok := tc.files["rules.yaml"]; !ok {
				tc.files["rules.yaml"] = "rules: []\ntables:\n  - file: t.csv\n"
			}
			writeFiles(t, dir, tc.files)
			_, ds, err := ruleset.Load(filepath.Join(dir, "rules.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			assertDiagsIn(t, ds, dir, tc.msg, tc.want...)
		})
	}
}

func repeatBriefs(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t.csv:%d error from table", i+2)
	}
	return out
}

func TestLoadTableSizeCap(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rules.yaml": "tables:\n  - file: t.csv\n", "t.csv": strings.Repeat("/a,/b\n", 100)})
	l := ruleset.Loader{MaxTableSize: 100}
	s, ds, err := l.Load(filepath.Join(dir, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	assertDiags(t, ds, filepath.Join(dir, "rules.yaml")+":2 error tables[0].file table")
	if len(s.Tables) != 0 {
		t.Errorf("the table too large was kept: %+v", s.Tables)
	}
}

// TestReadTable reads rows from a reader, with no disk.
func TestReadTable(t *testing.T) {
	cases := []struct {
		name  string
		csv   string
		merge bool
		want  []detour.Row
	}{
		{"no header", "/a,/b\n", false, []detour.Row{{Line: 1, Path: "/a", To: "/b"}}},
		{"header source,target", "source,target\n/a,/b\n", false, []detour.Row{{Line: 2, Path: "/a", To: "/b"}}},
		{"header Old URL,New URL,Code", "Old URL,New URL,Code\n/a,/b,308\n", false, []detour.Row{{Line: 2, Path: "/a", To: "/b", Status: 308}}},
		{"CRLF line ends", "from,to\r\n/a,/b\r\n/c,/d\r\n", false, []detour.Row{{Line: 2, Path: "/a", To: "/b"}, {Line: 3, Path: "/c", To: "/d"}}},
		{"duplicate slashes kept", "//a//b,/c\n", false, []detour.Row{{Line: 1, Path: "//a//b", To: "/c"}}},
		{"duplicate slashes merged", "//a//b,/c\n", true, []detour.Row{{Line: 1, Path: "/a/b", To: "/c"}}},
		{"URL without a path", "https://example.com,/c\n", false, []detour.Row{{Line: 1, Host: "example.com", Path: "/", To: "/c"}}},
		{"IDN host", "https://bücher.example/a,/c\n", false, []detour.Row{{Line: 1, Host: "xn--bcher-kva.example", Path: "/a", To: "/c"}}},
		{"status column left empty", "/a,/b,\n", false, []detour.Row{{Line: 1, Path: "/a", To: "/b"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tb := detour.Table{ID: "table:t.csv", Status: 301}
			ds := ruleset.ReadTable(strings.NewReader(tc.csv), "t.csv", &tb, tc.merge)
			if len(ds) > 0 {
				t.Fatalf("diagnostics:\n%v", ds.Error())
			}
			if !reflect.DeepEqual(tb.Rows, tc.want) {
				t.Errorf("rows:\n got %+v\nwant %+v", tb.Rows, tc.want)
			}
		})
	}
}

// TestLoadTableRowsShareOneString: the rows of a table without quotes
// are cut from one string, the table's text, so a million rows cost no
// string of their own.
func TestLoadTableRowsShareOneString(t *testing.T) {
	var b strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&b, "/old/%d,/new/%d\n", i, i)
	}
	tb := detour.Table{Status: 301}
	allocs := testing.AllocsPerRun(5, func() {
		tb.Rows = tb.Rows[:0]
		if ds := ruleset.ReadTable(strings.NewReader(b.String()), "t.csv", &tb, false); len(ds) > 0 {
			t.Fatal(ds)
		}
	})
	if allocs > 20 {
		t.Errorf("%.0f allocations for 1000 rows, want a few for the table", allocs)
	}
}

func TestLoadFilesKeepsMissingTable(t *testing.T) {
	// The watcher must see a table that does not exist yet appear.
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"rules.yaml": "tables:\n  - file: later.csv\n"})
	s, _, err := ruleset.Load(filepath.Join(dir, "rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "rules.yaml"), filepath.Join(dir, "later.csv")}; !reflect.DeepEqual(s.Files, want) {
		t.Errorf("Files = %q, want %q", s.Files, want)
	}
}

func TestLoadNotRegular(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	if _, _, err := ruleset.Load("/dev/null"); err == nil {
		t.Error("Load(/dev/null) succeeded; want an error (not a regular file or folder)")
	}
}
