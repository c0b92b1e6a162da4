package reload

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run watches the rules path and every file of the live set until ctx is
// done, reloading after each burst of changes. It watches the directories
// that hold them rather than the files, so that a file replaced by
// renaming a new one over it, or a Kubernetes ConfigMap whose ..data
// symlink is swapped, is seen as well as a file written in place. After
// each load the watch list is rebuilt from the set's files, so tables
// that were added or removed are followed.
func (r *Reloader) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch rules: %w", err)
	}
	defer w.Close()

	ws := &watchState{r: r, w: w, dirs: map[string]bool{}}
	ws.rebuild()
	// A change between the last load and now, before the watches were in
	// place, would otherwise go unseen.
	if ws.print = fingerprint(ws.files); !slices.Equal(ws.print, r.loadedPrint()) {
		r.Reload("changed before watching") // logged and counted by Reload
		ws.rebuild()
		ws.print = r.loadedPrint()
	}

	var timer *time.Timer
	var fire <-chan time.Time
	pending, direct := false, false
	arm := func() {
		pending = true
		if timer == nil {
			timer = time.NewTimer(r.cfg.Debounce)
			fire = timer.C
			return
		}
		timer.Reset(r.cfg.Debounce)
	}
	for {
		select {
		case <-ctx.Done():
			if timer != nil {
				timer.Stop()
			}
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			direct = direct || ws.isDirect(ev.Name)
			arm()
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			r.cfg.Log.Warn("watching rules", "error", err)
			// An overflow loses events: reload to be safe.
			direct = true
			arm()
		case <-fire:
			if !pending {
				continue
			}
			pending = false
			if direct || !slices.Equal(fingerprint(ws.files), ws.print) {
				r.Reload("file change") // logged and counted by Reload
				ws.rebuild()
				ws.print = r.loadedPrint()
				// A file new to the set is watched only now: a
				// change made to it since it was read sent no event.
				if !slices.Equal(fingerprint(ws.files), ws.print) {
					direct = false
					arm()
					continue
				}
			}
			direct = false
		}
	}
}

// watchState is Run's view of what it watches. It belongs to Run's
// goroutine.
type watchState struct {
	r      *Reloader
	w      *fsnotify.Watcher
	dirs   map[string]bool // directories being watched
	names  map[string]bool // events on these paths always reload
	folder []string        // the rules folder (and where it resolves to), if Path is a folder
	files  []string        // files whose identity the fingerprint covers
	print  []string
}

// rebuild recomputes the watched directories from the rules path and the
// live set's files, and their resolved locations through symlinks.
func (ws *watchState) rebuild() {
	path := ws.r.cfg.Path
	files := ws.r.watched() // the rules path first
	ws.names = map[string]bool{}
	ws.folder = nil
	want := map[string]bool{}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		ws.folder = append(ws.folder, path)
		want[path] = true
		if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
			ws.folder = append(ws.folder, real)
			want[real] = true
		}
	}
	for _, f := range files {
		ws.names[f] = true
		want[filepath.Dir(f)] = true
		if real, err := filepath.EvalSymlinks(f); err == nil && real != f {
			ws.names[real] = true
			want[filepath.Dir(real)] = true
		}
	}
	ws.files = files

	for d := range ws.dirs {
		if !want[d] {
			ws.w.Remove(d) // may already be gone with the directory
			delete(ws.dirs, d)
		}
	}
	for d := range want {
		if ws.dirs[d] {
			continue
		}
		if err := ws.w.Add(d); err != nil {
			ws.r.cfg.Log.Debug("cannot watch", "dir", d, "error", err)
			continue
		}
		ws.dirs[d] = true
	}
}

// isDirect reports whether an event on name certainly concerns the rules:
// it names a file of the set (or where one resolves to), or a *.yaml file
// in the rules folder.
func (ws *watchState) isDirect(name string) bool {
	name = filepath.Clean(name)
	if ws.names[name] {
		return true
	}
	if !strings.HasSuffix(name, ".yaml") {
		return false
	}
	dir := filepath.Dir(name)
	return slices.Contains(ws.folder, dir)
}

// fingerprint describes the identity of each file as seen through
// symlinks — where it resolves to, its size and modification time, and
// on Linux its inode and change time (a file renamed over another of the
// same size within one tick of the file system's clock differs only
// there) — so that an event on some other name (a ConfigMap's ..data
// swap) reloads only when a file of the set changed.
func fingerprint(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			out[i] = f + " missing"
			continue
		}
		real, _ := filepath.EvalSymlinks(f)
		out[i] = fmt.Sprintf("%s %s %d %d %s", f, real, fi.Size(), fi.ModTime().UnixNano(), fileID(fi))
	}
	return out
}
