package reload

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// TestFingerprintSeesRenameOver: a file renamed over another of the same
// size and the same modification time still changes the fingerprint
// (on Linux, by its inode).
func TestFingerprintSeesRenameOver(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("inodes are only read on Linux")
	}
	dir := t.TempDir()
	path, tmp := filepath.Join(dir, "table.csv"), filepath.Join(dir, ".tmp-table.csv")
	if err := os.WriteFile(path, []byte("from,to\n/a,/b1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	before := fingerprint([]string{path})
	if err := os.WriteFile(tmp, []byte("from,to\n/a,/b2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(tmp, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if after := fingerprint([]string{path}); slices.Equal(before, after) {
		t.Errorf("fingerprint unchanged by a rename-over of the same size and time: %q", after)
	}
}
