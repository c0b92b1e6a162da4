package check_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/detourhttp/detour/check"
)

func TestNewProgressLineNotATerminal(t *testing.T) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	tests := []struct {
		name string
		w    io.Writer
	}{
		{"buffer", &bytes.Buffer{}},
		{"null device", null},
		{"regular file", file},
		{"pipe", w},
		{"nil file", (*os.File)(nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if check.IsTerminal(tt.w) {
				t.Error("IsTerminal = true")
			}
			p := check.NewProgressLine(tt.w)
			if p != nil {
				t.Fatal("NewProgressLine returned a line")
			}
			// A nil line is safe to use and draws nothing.
			p.Show(check.Progress{Done: 1, Total: 1})
			p.Clear()
		})
	}
}
