package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/internal/sqlite"
	"github.com/detourhttp/detour/internal/storetest"
)

func open(t *testing.T, path string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) detour.RuleStore {
		return open(t, filepath.Join(t.TempDir(), "detour.db"))
	})
}

// TestReopen: what was committed is there after the file is opened again,
// and the migrations are not applied twice.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "detour.db")
	db := open(t, path)
	storetest.MustCreate(t, db, detour.Rule{ID: "keep", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve})
	if err := db.AddHits(context.Background(), []detour.Hit{{ID: "keep", Count: 4, Last: time.Unix(100, 0)}}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = open(t, path)
	defer db.Close()
	rr, err := db.Rule(context.Background(), "keep")
	if err != nil {
		t.Fatal(err)
	}
	if rr.Rule.To != "/b" || rr.Hits != 4 {
		t.Errorf("after reopen: %+v", rr)
	}
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v != 1 {
		t.Errorf("schema version %d (%v), want 1", v, err)
	}
}

// TestWAL: the database is in WAL mode.
func TestWAL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "detour.db")
	db := open(t, path)
	defer db.Close()
	storetest.MustCreate(t, db, detour.Rule{ID: "x", From: "/a", To: "/b", Status: 307, Query: detour.QueryPreserve})
	if _, err := filepath.Glob(path + "-wal"); err != nil {
		t.Fatal(err)
	}
	if m, _ := filepath.Glob(path + "-wal"); len(m) != 1 {
		t.Errorf("no %s-wal file: not in WAL mode", filepath.Base(path))
	}
}

// TestClosedUnavailable: a closed store answers EUNAVAILABLE.
func TestClosedUnavailable(t *testing.T) {
	db := open(t, filepath.Join(t.TempDir(), "detour.db"))
	db.Close()
	if got := detour.ErrorCode(db.Ping(context.Background())); got != detour.EUNAVAILABLE {
		t.Errorf("ping after close: code %q, want %q", got, detour.EUNAVAILABLE)
	}
	if _, ok := <-db.Changes(); ok {
		t.Error("Changes not closed")
	}
}
