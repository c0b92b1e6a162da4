package convert_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/detourhttp/detour/convert"
	"github.com/detourhttp/detour/ruleset"
)

// memReader serves one file from memory; includes find nothing.
func memReader(name string, data []byte) convert.FileReader {
	return convert.FileReader{
		ReadFile: func(n string) ([]byte, error) {
			if n == name {
				return data, nil
			}
			return nil, os.ErrNotExist
		},
		Glob: func(string) ([]string, error) { return nil, nil },
	}
}

// fuzzImport imports data and checks what every import promises: either
// a syntax error, or YAML that parses and compiles without errors.
func fuzzImport(t *testing.T, format, name string, data []byte) {
	res, err := convert.Import(format, name, memReader(name, data))
	if err != nil {
		if !errors.Is(err, convert.ErrSyntax) {
			t.Fatalf("an error that is not a syntax error: %v", err)
		}
		return
	}
	set, ds := ruleset.Parse(bytes.NewReader(res.YAML), "detour.yaml")
	if ds.HasErrors() {
		t.Fatalf("the import does not parse:\n%v\n%s", ds.Errors(), res.YAML)
	}
	if len(set.Tables) > 0 {
		return // rows are read by Load; the differential tests cover them
	}
	if tb, ds := set.Compile(); tb == nil {
		t.Fatalf("the import does not compile:\n%v\n%s", ds.Errors(), res.YAML)
	}
}

func addSeeds(f *testing.F, pattern string) {
	names, err := filepath.Glob(pattern)
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

func FuzzNginx(f *testing.F) {
	addSeeds(f, "testdata/nginx/*.conf")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, "nginx", "/fuzz/nginx.conf", data)
	})
}

func FuzzApache(f *testing.F) {
	addSeeds(f, "testdata/apache/*.conf")
	addSeeds(f, "testdata/apache/*.htaccess")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, "apache", "/fuzz/site.conf", data)
		fuzzImport(t, "apache", "/fuzz/.htaccess", data)
	})
}

func FuzzNetlify(f *testing.F) {
	addSeeds(f, "testdata/netlify/_redirects")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, "netlify", "/fuzz/_redirects", data)
	})
}

func FuzzCSV(f *testing.F) {
	addSeeds(f, "testdata/csv/*.csv")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzImport(t, "csv", "/fuzz/redirects.csv", data)
	})
}
