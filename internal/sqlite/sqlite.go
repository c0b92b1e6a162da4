// Package sqlite is detour's embedded runtime rule store: a detour.RuleStore
// in one SQLite file (pure Go, modernc.org/sqlite, no cgo), in WAL mode
// with a busy timeout and synchronous=FULL, its schema kept by embedded
// SQL migrations recorded in a schema_version table.
//
// A rule is stored as the rules file writes it (ruleset.Fields as JSON)
// and read back with ruleset.DecodeRule, so a runtime rule has exactly the
// fields and validation of a file rule.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/detourhttp/detour"
	"github.com/detourhttp/detour/ruleset"
)

// DefaultPath is the store's file when none is named: ./detour.db.
const DefaultPath = "detour.db"

// busyTimeout is how long a write waits for another writer.
const busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a RuleStore in one SQLite file. It is safe for concurrent use.
type DB struct {
	db   *sql.DB
	path string
	// Now stamps writes; set it before use, nil means time.Now.
	Now func() time.Time

	mu      sync.Mutex // guards changes and closed
	changes chan struct{}
	closed  bool
}

var _ detour.RuleStore = (*DB)(nil)

// Open opens (creating it when missing) the store at path and brings its
// schema up to date.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		path = DefaultPath
	}
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
	sdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db := &DB{db: sdb, path: path, changes: make(chan struct{}, 1)}
	if err := db.migrate(ctx); err != nil {
		sdb.Close()
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return db, nil
}

// Path returns the store's file.
func (db *DB) Path() string { return db.path }

// migrate applies the embedded migrations not yet recorded in
// schema_version, each in its own transaction.
func (db *DB) migrate(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("schema_version: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	slices.Sort(names)
	for i, name := range names {
		version := i + 1
		if err := db.migrateOne(ctx, name, version); err != nil {
			return fmt.Errorf("migration %s: %w", path.Base(name), err)
		}
	}
	return nil
}

func (db *DB) migrateOne(ctx context.Context, name string, version int) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_version WHERE version >= ?`, version).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, string(body)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (?)`, version); err != nil {
		return err
	}
	return tx.Commit()
}

// SchemaVersion returns the number of migrations applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	if err := db.db.QueryRowContext(ctx, `SELECT max(version) FROM schema_version`).Scan(&v); err != nil {
		return 0, wrap("schema version", err)
	}
	return int(v.Int64), nil
}

// Close closes the database; Changes' channel is closed.
func (db *DB) Close() error {
	db.mu.Lock()
	if !db.closed {
		db.closed = true
		close(db.changes)
	}
	db.mu.Unlock()
	return db.db.Close()
}

// Changes returns the channel that receives a value after each committed
// change made through db. (Writes by another process to the same file are
// seen through Version, which the server also polls.)
func (db *DB) Changes() <-chan struct{} { return db.changes }

func (db *DB) notify() {
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.closed {
		return
	}
	select {
	case db.changes <- struct{}{}:
	default:
	}
}

// Ping checks that the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return wrap("ping", err)
	}
	return nil
}

// Version returns the change counter.
func (db *DB) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := db.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'version'`).Scan(&v); err != nil {
		return 0, wrap("version", err)
	}
	return v, nil
}

func (db *DB) now() time.Time {
	if db.Now != nil {
		return db.Now()
	}
	return time.Now()
}

// wrap turns a database error into an EUNAVAILABLE *detour.Error wrapping
// the cause (the message is safe to show; the cause is for the log).
func wrap(op string, err error) error {
	var de *detour.Error
	if errors.As(err, &de) {
		return err
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return fmt.Errorf("sqlite: %s: %w: %w", op, detour.Errorf(detour.EUNAVAILABLE, "the rule store is unavailable"), err)
}

const ruleColumns = `r.seq, r.id, r.enabled, r.doc, r.version, r.created_at, r.updated_at, coalesce(h.count, 0), coalesce(h.last_hit, 0)`

const ruleFrom = `rules r LEFT JOIN hits h ON h.id = r.id`

type scanner interface{ Scan(dest ...any) error }

func scanRule(s scanner) (*detour.RuntimeRule, error) {
	var (
		rr                         detour.RuntimeRule
		id, doc                    string
		enabled                    int
		created, updated, last, hc int64
	)
	if err := s.Scan(&rr.Seq, &id, &enabled, &doc, &rr.Version, &created, &updated, &hc, &last); err != nil {
		return nil, err
	}
	r, diags := ruleset.DecodeRule([]byte(doc), "store")
	if diags.HasErrors() {
		return nil, fmt.Errorf("sqlite: stored rule %q does not decode: %w", id, diags.Errors())
	}
	r.Source = detour.Source{}
	rr.Rule = r
	rr.Enabled = enabled != 0
	rr.CreatedAt = time.Unix(0, created).UTC()
	rr.UpdatedAt = time.Unix(0, updated).UTC()
	rr.Hits = uint64(hc)
	if last != 0 {
		rr.LastHit = time.Unix(0, last).UTC()
	}
	return &rr, nil
}

// ListRules returns one page of the rules filter selects.
func (db *DB) ListRules(ctx context.Context, f detour.RuleFilter) (*detour.RulePage, error) {
	limit := f.Limit
	switch {
	case limit < 0:
		return nil, detour.Errorf(detour.EINVALID, "limit must not be negative")
	case limit == 0:
		limit = detour.DefaultListLimit
	case limit > detour.MaxListLimit:
		limit = detour.MaxListLimit
	}
	var (
		where []string
		args  []any
	)
	if f.After != "" {
		seq, err := strconv.ParseInt(f.After, 10, 64)
		if err != nil || seq < 0 {
			return nil, detour.Errorf(detour.EINVALID, "cursor %q is not one this server gave", f.After)
		}
		where, args = append(where, "r.seq > ?"), append(args, seq)
	}
	if f.Host != "" {
		where, args = append(where, "r.host = ?"), append(args, f.Host)
	}
	if f.PathPrefix != "" {
		where, args = append(where, `substr(r."from", 1, length(?)) = ?`), append(args, f.PathPrefix, f.PathPrefix)
	}
	if f.Enabled != nil {
		where, args = append(where, "r.enabled = ?"), append(args, boolInt(*f.Enabled))
	}
	if !f.ActiveAt.IsZero() {
		ms := f.ActiveAt.UnixMilli()
		where = append(where, "r.enabled = 1 AND (r.window_start IS NULL OR r.window_start <= ?) AND (r.window_end IS NULL OR r.window_end > ?)")
		args = append(args, ms, ms)
	}
	q := `SELECT ` + ruleColumns + ` FROM ` + ruleFrom
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY r.seq LIMIT ?"
	args = append(args, limit+1)
	rules, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	page := &detour.RulePage{Rules: rules}
	if len(rules) > limit {
		page.Rules = rules[:limit]
		page.Next = strconv.FormatInt(rules[limit-1].Seq, 10)
	}
	return page, nil
}

// AllRules returns every rule in creation order.
func (db *DB) AllRules(ctx context.Context) ([]*detour.RuntimeRule, error) {
	return db.query(ctx, `SELECT `+ruleColumns+` FROM `+ruleFrom+` ORDER BY r.seq`)
}

func (db *DB) query(ctx context.Context, q string, args ...any) ([]*detour.RuntimeRule, error) {
	rows, err := db.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrap("list rules", err)
	}
	defer rows.Close()
	var out []*detour.RuntimeRule
	for rows.Next() {
		rr, err := scanRule(rows)
		if err != nil {
			return nil, wrap("list rules", err)
		}
		out = append(out, rr)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("list rules", err)
	}
	return out, nil
}

// Rule returns the rule with id.
func (db *DB) Rule(ctx context.Context, id string) (*detour.RuntimeRule, error) {
	return db.get(ctx, db.db, id)
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (db *DB) get(ctx context.Context, q querier, id string) (*detour.RuntimeRule, error) {
	rr, err := scanRule(q.QueryRowContext(ctx, `SELECT `+ruleColumns+` FROM `+ruleFrom+` WHERE r.id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, wrap("get rule", err)
	}
	return rr, nil
}

func notFound(id string) error {
	return detour.Errorf(detour.ENOTFOUND, "no runtime rule has id %q", id)
}

// write runs fn in a write transaction that also bumps the change counter
// (passed to fn as the new version), commits, and notifies Changes.
func (db *DB) write(ctx context.Context, op string, fn func(tx *sql.Tx, version int64) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap(op, err)
	}
	defer tx.Rollback()
	var version int64
	if err := tx.QueryRowContext(ctx, `UPDATE meta SET value = value + 1 WHERE key = 'version' RETURNING value`).Scan(&version); err != nil {
		return wrap(op, err)
	}
	if err := fn(tx, version); err != nil {
		return wrap(op, err)
	}
	if err := tx.Commit(); err != nil {
		return wrap(op, err)
	}
	db.notify()
	return nil
}

// columns are the copies of the rule's fields kept for filtering.
func columns(r *detour.Rule) (doc string, wstart, wend sql.NullInt64, err error) {
	fields := ruleset.Fields(r)
	b, err := json.Marshal(fields)
	if err != nil {
		return "", wstart, wend, fmt.Errorf("encode rule: %w", err)
	}
	if !r.Window.Start.IsZero() {
		wstart = sql.NullInt64{Int64: r.Window.Start.UnixMilli(), Valid: true}
	}
	if !r.Window.End.IsZero() {
		wend = sql.NullInt64{Int64: r.Window.End.UnixMilli(), Valid: true}
	}
	return string(b), wstart, wend, nil
}

// CreateRule stores a new rule.
func (db *DB) CreateRule(ctx context.Context, r detour.Rule, enabled bool) (*detour.RuntimeRule, error) {
	if r.ID == "" {
		return nil, detour.Errorf(detour.EINVALID, "a runtime rule needs an id")
	}
	doc, ws, we, err := columns(&r)
	if err != nil {
		return nil, err
	}
	var out *detour.RuntimeRule
	err = db.write(ctx, "create rule", func(tx *sql.Tx, version int64) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM rules WHERE id = ?`, r.ID).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return detour.Errorf(detour.ECONFLICT, "a runtime rule with id %q already exists", r.ID)
		}
		now := db.now().UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT INTO rules (id, host, "from", enabled, window_start, window_end, doc, version, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.ID, r.Host, r.From, boolInt(enabled), ws, we, doc, version, now, now); err != nil {
			return err
		}
		out, err = db.get(ctx, tx, r.ID)
		return err
	})
	return out, err
}

// checkVersion returns the current version of id, or an error when it is
// missing or ifVersion is set and differs.
func checkVersion(ctx context.Context, tx *sql.Tx, id string, ifVersion int64) error {
	var cur int64
	err := tx.QueryRowContext(ctx, `SELECT version FROM rules WHERE id = ?`, id).Scan(&cur)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return notFound(id)
	case err != nil:
		return err
	case ifVersion != 0 && ifVersion != cur:
		return detour.Errorf(detour.EPRECONDITION, "rule %q has changed: its version is %d, not %d; fetch it again", id, cur, ifVersion)
	}
	return nil
}

// ReplaceRule replaces the rule with r.ID.
func (db *DB) ReplaceRule(ctx context.Context, r detour.Rule, enabled bool, ifVersion int64) (*detour.RuntimeRule, error) {
	doc, ws, we, err := columns(&r)
	if err != nil {
		return nil, err
	}
	var out *detour.RuntimeRule
	err = db.write(ctx, "replace rule", func(tx *sql.Tx, version int64) error {
		if err := checkVersion(ctx, tx, r.ID, ifVersion); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET host = ?, "from" = ?, enabled = ?, window_start = ?, window_end = ?, doc = ?, version = ?, updated_at = ?
			WHERE id = ?`, r.Host, r.From, boolInt(enabled), ws, we, doc, version, db.now().UnixNano(), r.ID); err != nil {
			return err
		}
		out, err = db.get(ctx, tx, r.ID)
		return err
	})
	return out, err
}

// SetEnabled enables or disables the rule with id.
func (db *DB) SetEnabled(ctx context.Context, id string, enabled bool, ifVersion int64) (*detour.RuntimeRule, error) {
	var out *detour.RuntimeRule
	err := db.write(ctx, "set enabled", func(tx *sql.Tx, version int64) error {
		if err := checkVersion(ctx, tx, id, ifVersion); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE rules SET enabled = ?, version = ?, updated_at = ? WHERE id = ?`,
			boolInt(enabled), version, db.now().UnixNano(), id); err != nil {
			return err
		}
		var err error
		out, err = db.get(ctx, tx, id)
		return err
	})
	return out, err
}

// DeleteRule deletes the rule with id (its hit count stays, should a rule
// with the same id come back).
func (db *DB) DeleteRule(ctx context.Context, id string, ifVersion int64) error {
	return db.write(ctx, "delete rule", func(tx *sql.Tx, _ int64) error {
		if err := checkVersion(ctx, tx, id, ifVersion); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM rules WHERE id = ?`, id)
		return err
	})
}

// AddHits adds counts to the persisted hits, in one transaction.
func (db *DB) AddHits(ctx context.Context, hits []detour.Hit) error {
	if len(hits) == 0 {
		return nil
	}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return wrap("add hits", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO hits (id, count, last_hit) VALUES (?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET count = count + excluded.count, last_hit = max(last_hit, excluded.last_hit)`)
	if err != nil {
		return wrap("add hits", err)
	}
	defer stmt.Close()
	for _, h := range hits {
		var last int64
		if !h.Last.IsZero() {
			last = h.Last.UnixNano()
		}
		if _, err := stmt.ExecContext(ctx, h.ID, int64(h.Count), last); err != nil {
			return wrap("add hits", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return wrap("add hits", err)
	}
	return nil
}

// Hits returns the persisted hits of every rule that has any.
func (db *DB) Hits(ctx context.Context) (map[string]detour.Hit, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id, count, last_hit FROM hits`)
	if err != nil {
		return nil, wrap("hits", err)
	}
	defer rows.Close()
	out := make(map[string]detour.Hit)
	for rows.Next() {
		var (
			h          detour.Hit
			count, lst int64
		)
		if err := rows.Scan(&h.ID, &count, &lst); err != nil {
			return nil, wrap("hits", err)
		}
		h.Count = uint64(count)
		if lst != 0 {
			h.Last = time.Unix(0, lst).UTC()
		}
		out[h.ID] = h
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("hits", err)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
