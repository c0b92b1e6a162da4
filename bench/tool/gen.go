package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// spec is the shape of one generated rule set.
type spec struct {
	exact   int  // exact rules
	inTable bool // the exact rules are rows of a CSV table, else YAML rules
	splats  int  // /sNNN/* -> /nNNN/:splat
	named   int  // /bNNN/:year/:slug -> /pNNN/:year/:slug
	regexes int  // ~^/itemN/([0-9]+)$ -> /itemsN/$1, the last two ~* instead
	// Request mix of the key pool beyond the exact keys (one each): how
	// many keys of each pattern kind per exact key, in hundredths.
	splatKeys, namedKeys, regexKeys int
}

// specFor returns the rule set called name.
func specFor(name string) (spec, bool) {
	switch name {
	case "1":
		return spec{exact: 1}, true
	case "10k":
		return spec{exact: 10_000, inTable: true}, true
	case "1m":
		return spec{exact: 1_000_000, inTable: true}, true
	case "mixed":
		// 10,000 exact rows, 500 splats, 500 named-segment rules and 10
		// regexes; requests 40% exact, 25% splat, 25% named, 10% regex.
		return spec{exact: 10_000, inTable: true, splats: 500, named: 500, regexes: 10,
			splatKeys: 62_50, namedKeys: 62_50, regexKeys: 25_00}, true
	}
	return spec{}, false
}

// sampleSize is how many checked keys sample.tsv holds at most.
const sampleSize = 2000

var words = [...]string{"products", "blog", "docs", "news", "help", "shop", "about", "careers",
	"press", "support", "events", "guides", "media", "legal", "partners", "labs"}

// exactFrom and exactTo are exact rule i's path and target. With reloaded
// set, rule 0 points elsewhere: the change a reload must bring.
func exactFrom(i int) string {
	return fmt.Sprintf("/legacy/%s/page-%07d.html", words[i%len(words)], i)
}

func exactTo(i int, reloaded bool) string {
	if i == 0 && reloaded {
		return "/reloaded/0000000"
	}
	return fmt.Sprintf("/new/%s/%07d", words[(i*7+3)%len(words)], i)
}

// answer is one request path with the redirect both servers must give.
type answer struct {
	path, location string
}

func cmdGen(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("set", "", "rule set: 1, 10k, 1m or mixed")
	dir := fs.String("dir", "", "output folder (made if missing)")
	next := fs.Bool("next", false, "also write the tables a reload swaps in (rule 0 retargeted)")
	seed := fs.Uint64("seed", 1, "seed of the pattern keys and the sample")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	sp, ok := specFor(*name)
	if !ok || *dir == "" {
		fmt.Fprintln(stderr, "gen: want -set 1|10k|1m|mixed and -dir DIR")
		return 2
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 2
	}
	g := generator{sp: sp, dir: abs, rnd: rand.New(rand.NewPCG(*seed, 0x6265_6e63))}
	if err := g.write(*name, *next); err != nil {
		fmt.Fprintf(stderr, "gen: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "set %s: %d exact, %d splat, %d named, %d regex rules; %d keys\n",
		*name, sp.exact, sp.splats, sp.named, sp.regexes, g.keys)
	return 0
}

type generator struct {
	sp   spec
	dir  string
	rnd  *rand.Rand
	keys int
}

// write writes detour/, nginx/, keys.txt, sample.tsv and probe.tsv.
func (g *generator) write(name string, next bool) error {
	for _, d := range []string{"detour", "nginx"} {
		if err := os.MkdirAll(filepath.Join(g.dir, d), 0o755); err != nil {
			return fmt.Errorf("make folder: %w", err)
		}
	}
	patterns := g.patternRules()
	if err := g.writeDetour(name, patterns, next); err != nil {
		return err
	}
	if err := g.writeNginx(name, patterns, next); err != nil {
		return err
	}
	probe := answer{exactFrom(0), exactTo(0, false)}
	if err := writeFile(filepath.Join(g.dir, "probe.tsv"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "%s\t307\t%s\t%s\n", probe.path, probe.location, exactTo(0, true))
	}); err != nil {
		return err
	}
	return g.writeKeys(patterns)
}

// pattern is one non-exact rule with a way to make requests it answers.
type pattern struct {
	kind     string // splat, named, regex
	from, to string // detour's
	nginx    string // the nginx location block
	instance func(r *rand.Rand) answer
}

func (g *generator) patternRules() []pattern {
	var ps []pattern
	for i := range g.sp.splats {
		p := fmt.Sprintf("/s%03d", i)
		n := fmt.Sprintf("/n%03d", i)
		ps = append(ps, pattern{
			kind: "splat", from: p + "/*", to: n + "/:splat",
			nginx: fmt.Sprintf("location ^~ %s/ {\n    location ~ ^%s/(.*)$ { return 307 %s/$1; }\n}\n", p, p, n),
			instance: func(r *rand.Rand) answer {
				rest := token(r, 4, 10)
				if r.IntN(2) == 0 {
					rest += "/" + token(r, 3, 12)
				}
				return answer{p + "/" + rest, n + "/" + rest}
			},
		})
	}
	for i := range g.sp.named {
		p := fmt.Sprintf("/b%03d", i)
		n := fmt.Sprintf("/p%03d", i)
		ps = append(ps, pattern{
			kind: "named", from: p + "/:year/:slug", to: n + "/:year/:slug",
			nginx: fmt.Sprintf("location ^~ %s/ {\n    location ~ ^%s/([^/]+)/([^/]+)$ { return 307 %s/$1/$2; }\n}\n", p, p, n),
			instance: func(r *rand.Rand) answer {
				rest := fmt.Sprintf("%d/%s-%s", 2000+r.IntN(27), token(r, 4, 8), token(r, 4, 8))
				return answer{p + "/" + rest, n + "/" + rest}
			},
		})
	}
	for i := range g.sp.regexes {
		if i < g.sp.regexes-2 || g.sp.regexes < 3 {
			re := fmt.Sprintf("^/item%d/([0-9]+)$", i)
			to := fmt.Sprintf("/items%d", i)
			ps = append(ps, pattern{
				kind: "regex", from: "~" + re, to: to + "/$1",
				nginx: fmt.Sprintf("location ~ %s { return 307 %s/$1; }\n", re, to),
				instance: func(r *rand.Rand) answer {
					id := fmt.Sprint(r.IntN(10_000_000))
					return answer{fmt.Sprintf("/item%d/%s", i, id), to + "/" + id}
				},
			})
			continue
		}
		re := fmt.Sprintf("^/doc%d/([a-z0-9]+)$", i)
		to := fmt.Sprintf("/docs%d", i)
		ps = append(ps, pattern{
			kind: "regex", from: "~*" + re, to: to + "/$1",
			nginx: fmt.Sprintf("location ~* %s { return 307 %s/$1; }\n", re, to),
			instance: func(r *rand.Rand) answer {
				// Mixed case: the capture keeps the request's case.
				id := mixCase(r, token(r, 4, 10))
				return answer{fmt.Sprintf("/DOC%d/%s", i, id), to + "/" + id}
			},
		})
	}
	return ps
}

func (g *generator) writeDetour(name string, patterns []pattern, next bool) error {
	d := filepath.Join(g.dir, "detour")
	err := writeFile(filepath.Join(d, "detour.yaml"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "# Generated by bench/tool gen -set %s: the same rules as ../nginx.\n", name)
		if !g.sp.inTable || len(patterns) > 0 {
			w.WriteString("rules:\n")
		}
		if !g.sp.inTable {
			for i := range g.sp.exact {
				fmt.Fprintf(w, "  - from: %s\n    to: %s\n    status: 307\n", exactFrom(i), exactTo(i, false))
			}
		}
		for _, p := range patterns {
			fmt.Fprintf(w, "  - from: %q\n    to: %q\n", p.from, p.to)
		}
		if g.sp.inTable {
			w.WriteString("tables:\n  - file: table.csv\n    status: 307\n")
		}
	})
	if err != nil || !g.sp.inTable {
		return err
	}
	table := func(reloaded bool) func(w *bufio.Writer) {
		return func(w *bufio.Writer) {
			w.WriteString("from,to\n")
			for i := range g.sp.exact {
				w.WriteString(exactFrom(i))
				w.WriteByte(',')
				w.WriteString(exactTo(i, reloaded))
				w.WriteByte('\n')
			}
		}
	}
	if err := writeFile(filepath.Join(d, "table.csv"), table(false)); err != nil {
		return err
	}
	if next {
		return writeFile(filepath.Join(d, "table.next.csv"), table(true))
	}
	return nil
}

func (g *generator) writeNginx(name string, patterns []pattern, next bool) error {
	d := filepath.Join(g.dir, "nginx")
	mapConf := filepath.Join(d, "map.conf")
	err := writeFile(filepath.Join(d, "http.conf"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "# Generated by bench/tool gen -set %s: the same rules as ../detour.\n", name)
		if !g.sp.inTable {
			return
		}
		// The hash must hold every key: buckets large enough for the
		// fullest one at about half load.
		fmt.Fprintf(w, "map_hash_bucket_size 256;\nmap_hash_max_size %d;\n", max(2*g.sp.exact, 20_000))
		fmt.Fprintf(w, "map $uri $target {\n    default \"\";\n    include %s;\n}\n", mapConf)
	})
	if err != nil {
		return err
	}
	err = writeFile(filepath.Join(d, "server.conf"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "# Generated by bench/tool gen -set %s: the same rules as ../detour.\n", name)
		if g.sp.inTable {
			w.WriteString("if ($target) {\n    return 307 $target;\n}\n")
		} else {
			for i := range g.sp.exact {
				fmt.Fprintf(w, "location = %s {\n    return 307 %s;\n}\n", exactFrom(i), exactTo(i, false))
			}
		}
		for _, p := range patterns {
			w.WriteString(p.nginx)
		}
		w.WriteString("location / {\n    return 404;\n}\n")
	})
	if err != nil || !g.sp.inTable {
		return err
	}
	mapFile := func(reloaded bool) func(w *bufio.Writer) {
		return func(w *bufio.Writer) {
			for i := range g.sp.exact {
				w.WriteString(exactFrom(i))
				w.WriteByte(' ')
				w.WriteString(exactTo(i, reloaded))
				w.WriteString(";\n")
			}
		}
	}
	if err := writeFile(mapConf, mapFile(false)); err != nil {
		return err
	}
	if next {
		return writeFile(filepath.Join(d, "map.next.conf"), mapFile(true))
	}
	return nil
}

// writeKeys writes keys.txt, the request paths wrk picks from at random
// (every exact key once, then pattern requests in the spec's mix), and
// sample.tsv, up to sampleSize of them with their answers, rule 0 left
// out (a reload changes it) unless it is the only one.
func (g *generator) writeKeys(patterns []pattern) error {
	byKind := map[string][]pattern{}
	for _, p := range patterns {
		byKind[p.kind] = append(byKind[p.kind], p)
	}
	var extra []answer
	for _, k := range []struct {
		kind string
		per  int
	}{{"splat", g.sp.splatKeys}, {"named", g.sp.namedKeys}, {"regex", g.sp.regexKeys}} {
		ps := byKind[k.kind]
		if len(ps) == 0 {
			continue
		}
		for range g.sp.exact * k.per / 100_00 {
			extra = append(extra, ps[g.rnd.IntN(len(ps))].instance(g.rnd))
		}
	}
	total := g.sp.exact + len(extra)
	g.keys = total
	at := func(i int) answer {
		if i < g.sp.exact {
			return answer{exactFrom(i), exactTo(i, false)}
		}
		return extra[i-g.sp.exact]
	}
	err := writeFile(filepath.Join(g.dir, "keys.txt"), func(w *bufio.Writer) {
		for i := range total {
			w.WriteString(at(i).path)
			w.WriteByte('\n')
		}
	})
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(g.dir, "sample.tsv"), func(w *bufio.Writer) {
		first := 1
		if total == 1 {
			first = 0
		}
		n := min(sampleSize, total-first)
		// Exact and pattern keys in the pool's own proportions.
		for _, i := range g.rnd.Perm(total - first)[:n] {
			a := at(first + i)
			fmt.Fprintf(w, "%s\t307\t%s\n", a.path, a.location)
		}
	})
}

// token returns a random lower-case alphanumeric string of lo..hi bytes.
func token(r *rand.Rand, lo, hi int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, lo+r.IntN(hi-lo+1))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

func mixCase(r *rand.Rand, s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' && r.IntN(2) == 0 {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// writeFile writes name through a buffered writer and closes it.
func writeFile(name string, fill func(*bufio.Writer)) (err error) {
	f, err := os.Create(name)
	if err != nil {
		return fmt.Errorf("write: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("write: %w", cerr)
		}
	}()
	w := bufio.NewWriterSize(f, 1<<20)
	fill(w)
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// readTSV reads a tab-separated file into rows of fields.
func readTSV(name string) ([][]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	var rows [][]string
	for line := range strings.SplitSeq(strings.TrimRight(string(b), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	if len(rows) == 0 {
		return nil, errors.New("read " + name + ": no rows")
	}
	return rows, nil
}
