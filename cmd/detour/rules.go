package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/detourhttp/detour/internal/admin"
)

const rulesUsage = `detour rules list [--host HOST] [--path-prefix P] [--enabled true|false] [--active] [--limit N]
       detour rules get ID
       detour rules add FROM TO [--id ID] [--host HOST] [--status N] [--priority N] [--methods M,M]
                        [--start TIME] [--end TIME] [--disabled]
       detour rules add --file FILE|-        (the rule as JSON, with the rules file's fields)
       detour rules rm|enable|disable ID
  every command: [--server URL] [--json]; the token comes from DETOUR_ADMIN_TOKEN`

// defaultServer is the admin listener rules talks to by default.
const defaultServer = "http://127.0.0.1:9090"

// rulesClient talks to the admin API.
type rulesClient struct {
	m      *Main
	base   string
	token  string
	asJSON bool
	http   *http.Client
}

// apiError is an answer of the API that is not a success: a problem.
type apiError struct {
	status  int
	problem admin.Problem
}

func (e *apiError) Error() string {
	msg := e.problem.Detail
	if msg == "" {
		msg = e.problem.Title
	}
	if msg == "" {
		msg = http.StatusText(e.status)
	}
	return fmt.Sprintf("%s (%d)", msg, e.status)
}

// exitCode: the server refused what was asked (4xx: invalid, conflict,
// not found, stale) → 1; it could not be asked (auth, misdirected, server
// errors, network) → 2.
func exitCode(err error) int {
	var ae *apiError
	if errors.As(err, &ae) && ae.status >= 400 && ae.status < 500 &&
		ae.status != http.StatusUnauthorized && ae.status != http.StatusForbidden && ae.status != http.StatusMisdirectedRequest {
		return exitFailed
	}
	return exitCantRun
}

// rules runs "detour rules SUBCOMMAND …".
func (m *Main) rules(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		if len(args) == 0 {
			fmt.Fprintf(m.Stderr, "usage: %s\n", rulesUsage)
			return exitCantRun
		}
		fmt.Fprintf(m.Stdout, "usage: %s\n", rulesUsage)
		return exitOK
	}
	sub, args := args[0], args[1:]
	fs := newFlagSet("rules " + sub)
	c := &rulesClient{m: m, http: &http.Client{Timeout: 30 * time.Second}}
	fs.StringVar(&c.base, "server", "", "admin listener `URL` (default $DETOUR_SERVER, else "+defaultServer+")")
	fs.BoolVar(&c.asJSON, "json", false, "print the server's JSON")
	var (
		host, prefix, enabled, id, methods, start, end, file string
		active, disabled                                     bool
		limit, status, priority                              int
	)
	switch sub {
	case "list":
		fs.StringVar(&host, "host", "", "only rules for `HOST`")
		fs.StringVar(&prefix, "path-prefix", "", "only rules whose from begins with `P`")
		fs.StringVar(&enabled, "enabled", "", "only enabled (true) or disabled (false) rules")
		fs.BoolVar(&active, "active", false, "only rules active now")
		fs.IntVar(&limit, "limit", 0, "at most `N` rules (default all)")
	case "add":
		fs.StringVar(&id, "id", "", "the rule's `ID` (default derived from host, from and methods)")
		fs.StringVar(&host, "host", "", "match only `HOST`")
		fs.IntVar(&status, "status", 0, "status `N`: 301, 302, 303, 307 (default), 308, 410")
		fs.IntVar(&priority, "priority", 0, "priority `N`; higher wins")
		fs.StringVar(&methods, "methods", "", "methods, comma-separated (default all but OPTIONS)")
		fs.StringVar(&start, "start", "", "active from `TIME` (RFC 3339 with an offset)")
		fs.StringVar(&end, "end", "", "active until `TIME` (RFC 3339 with an offset)")
		fs.BoolVar(&disabled, "disabled", false, "create it disabled")
		fs.StringVar(&file, "file", "", "read the rule as JSON from `FILE` (- for stdin)")
	case "get", "rm", "enable", "disable":
	default:
		return m.usageError(rulesUsage, "unknown rules command %q", sub)
	}
	pos, code, ok := m.parseFlags(fs, args, rulesUsage)
	if !ok {
		return code
	}
	if c.base == "" {
		c.base = m.Getenv("DETOUR_SERVER")
	}
	if c.base == "" {
		c.base = defaultServer
	}
	u, err := url.Parse(c.base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return m.usageError(rulesUsage, "--server %q: want a URL such as %s", c.base, defaultServer)
	}
	c.base = strings.TrimSuffix(c.base, "/")
	c.token = m.Getenv("DETOUR_ADMIN_TOKEN")

	wantArgs := map[string]int{"list": 0, "get": 1, "rm": 1, "enable": 1, "disable": 1, "add": 2}[sub]
	if sub == "add" && file != "" {
		wantArgs = 0
	}
	if len(pos) != wantArgs {
		return m.usageError(rulesUsage, "rules %s takes %d argument(s), got %d", sub, wantArgs, len(pos))
	}

	switch sub {
	case "list":
		q := url.Values{}
		for k, v := range map[string]string{"host": host, "path_prefix": prefix, "enabled": enabled} {
			if v != "" {
				q.Set(k, v)
			}
		}
		if active {
			q.Set("active", "true")
		}
		err = c.list(ctx, q, limit)
	case "get":
		err = c.show(ctx, "GET", "/"+url.PathEscape(pos[0]), nil, "")
	case "rm":
		err = c.remove(ctx, pos[0])
	case "enable", "disable":
		err = c.show(ctx, "POST", "/"+url.PathEscape(pos[0])+"/"+sub, nil, "")
	case "add":
		var body []byte
		if file != "" {
			body, err = m.readInput(file)
			if err != nil {
				fmt.Fprintf(m.Stderr, "detour: --file: %v\n", err)
				return exitCantRun
			}
		} else {
			body, err = addBody(pos[0], pos[1], id, host, methods, start, end, status, priority, disabled)
			if err != nil {
				return m.usageError(rulesUsage, "%v", err)
			}
		}
		err = c.show(ctx, "POST", "", body, "created")
	}
	if err != nil {
		c.report(err)
		return exitCode(err)
	}
	return exitOK
}

// readInput reads FILE, or stdin for "-".
func (m *Main) readInput(name string) ([]byte, error) {
	if name == "-" {
		if m.Stdin == nil {
			return nil, errors.New("no standard input")
		}
		return io.ReadAll(io.LimitReader(m.Stdin, admin.DefaultMaxBody+1))
	}
	return os.ReadFile(name)
}

// addBody builds the JSON of "rules add FROM TO [flags]".
func addBody(from, to, id, host, methods, start, end string, status, priority int, disabled bool) ([]byte, error) {
	r := map[string]any{"from": from, "to": to}
	if id != "" {
		r["id"] = id
	}
	if host != "" {
		r["host"] = host
	}
	if status != 0 {
		r["status"] = status
	}
	if priority != 0 {
		r["priority"] = priority
	}
	if methods != "" {
		r["methods"] = strings.Split(methods, ",")
	}
	if start != "" || end != "" {
		w := map[string]string{}
		if start != "" {
			w["start"] = start
		}
		if end != "" {
			w["end"] = end
		}
		r["window"] = w
	}
	if disabled {
		r["enabled"] = false
	}
	return json.Marshal(r)
}

// do sends one request to the API and returns the body of a 2xx answer,
// or an *apiError.
func (c *rulesClient) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+admin.APIPrefix+path, rd)
	if err != nil {
		return nil, err
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("admin API: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		ae := &apiError{status: resp.StatusCode}
		json.Unmarshal(b, &ae.problem) // a problem, or nothing useful
		if resp.StatusCode == http.StatusUnauthorized && c.token == "" {
			ae.problem.Detail = "the admin API needs its token: set DETOUR_ADMIN_TOKEN (detour serve logs it at start when it made one)"
		}
		return nil, ae
	}
	return b, nil
}

// report prints err and, for a problem, the field errors.
func (c *rulesClient) report(err error) {
	fmt.Fprintf(c.m.Stderr, "detour: %v\n", err)
	var ae *apiError
	if errors.As(err, &ae) {
		for _, fe := range ae.problem.Errors {
			switch {
			case fe.Field != "":
				fmt.Fprintf(c.m.Stderr, "  %s: %s\n", fe.Field, fe.Message)
			default:
				fmt.Fprintf(c.m.Stderr, "  %s\n", fe.Message)
			}
		}
	}
}

// show sends a request whose answer is one rule and prints it.
func (c *rulesClient) show(ctx context.Context, method, path string, body []byte, verb string) error {
	b, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	if c.asJSON {
		c.m.Stdout.Write(b)
		return nil
	}
	var r admin.Rule
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("admin API: unexpected answer: %w", err)
	}
	if verb != "" {
		fmt.Fprintf(c.m.Stdout, "%s %s\n", verb, r.ID)
	}
	printRule(c.m.Stdout, &r)
	return nil
}

func (c *rulesClient) remove(ctx context.Context, id string) error {
	if _, err := c.do(ctx, "DELETE", "/"+url.PathEscape(id), nil); err != nil {
		return err
	}
	if c.asJSON {
		fmt.Fprintf(c.m.Stdout, "{\"deleted\":%q}\n", id)
		return nil
	}
	fmt.Fprintf(c.m.Stdout, "deleted %s\n", id)
	return nil
}

// list fetches every page (up to limit rules when limit > 0) and prints
// a table, or one JSON object {"rules": […]}.
func (c *rulesClient) list(ctx context.Context, q url.Values, limit int) error {
	var all []json.RawMessage
	for {
		if limit > 0 {
			q.Set("limit", strconv.Itoa(min(limit-len(all), 1000)))
		}
		path := ""
		if len(q) > 0 {
			path = "?" + q.Encode()
		}
		b, err := c.do(ctx, "GET", path, nil)
		if err != nil {
			return err
		}
		var page struct {
			Rules      []json.RawMessage `json:"rules"`
			NextCursor string            `json:"next_cursor"`
		}
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("admin API: unexpected answer: %w", err)
		}
		all = append(all, page.Rules...)
		if page.NextCursor == "" || limit > 0 && len(all) >= limit {
			break
		}
		q.Set("cursor", page.NextCursor)
	}
	if c.asJSON {
		if all == nil {
			all = []json.RawMessage{}
		}
		out, err := json.MarshalIndent(map[string]any{"rules": all}, "", "  ")
		if err != nil {
			return err
		}
		c.m.Stdout.Write(append(out, '\n'))
		return nil
	}
	tw := tabwriter.NewWriter(c.m.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATE\tSTATUS\tHOST\tFROM\tTO\tHITS\tLAST HIT")
	for _, raw := range all {
		var r admin.Rule
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("admin API: unexpected answer: %w", err)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%d\t%s\n", r.ID, r.State, r.Status, dash(r.Host), r.From, dash(r.To), r.Hits, lastHit(r.LastHit))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func lastHit(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// printRule prints one rule for people, a field a line.
func printRule(w io.Writer, r *admin.Rule) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, v)
		}
	}
	line("id", r.ID)
	line("state", r.State)
	line("shadowed by", r.ShadowedBy)
	line("host", r.Host)
	line("scheme", r.Scheme)
	line("from", r.From)
	line("to", r.To)
	line("status", strconv.Itoa(r.Status))
	line("query", r.Query)
	line("methods", strings.Join(r.Methods, ", "))
	if r.Window != nil {
		line("window", dash(r.Window.Start)+" … "+dash(r.Window.End))
	}
	line("retry_after", r.RetryAfter)
	for _, h := range r.Headers {
		line("header", h.Name+": "+h.Value)
	}
	if r.Priority != 0 {
		line("priority", strconv.Itoa(r.Priority))
	}
	line("case", r.Case)
	line("trailing_slash", r.TrailingSlash)
	if r.Absolute {
		line("absolute", "true")
	}
	if r.MaxAge != 0 {
		line("max_age", strconv.Itoa(r.MaxAge))
	}
	line("enabled", strconv.FormatBool(r.Enabled))
	line("version", strconv.FormatInt(r.Version, 10))
	line("created", r.CreatedAt.UTC().Format(time.RFC3339))
	line("updated", r.UpdatedAt.UTC().Format(time.RFC3339))
	line("hits", strconv.FormatUint(r.Hits, 10))
	line("last hit", lastHit(r.LastHit))
	tw.Flush()
}
