package convert

import (
	"bytes"
	"fmt"
)

// OptionsNote is the note of every import with rules: detour answers
// OPTIONS requests with 404 unless a rule lists OPTIONS, where the
// original servers redirect them like any method.
const OptionsNote = "detour does not redirect OPTIONS requests (a redirected CORS preflight fails); the original server redirects them like any other method"

// Import reads the file name in format ("nginx", "apache", "netlify",
// "csv") through fr and converts it. The error is a read error or wraps
// ErrSyntax; an unknown format is an error too.
func Import(format, name string, fr FileReader) (*Result, error) {
	res, err := importFormat(format, name, fr)
	if err != nil {
		return nil, err
	}
	if len(res.YAML) > 0 && !bytes.Contains(res.YAML, []byte("rules: []")) || len(res.Tables) > 0 {
		res.Findings = append(res.Findings, Finding{File: name, Message: OptionsNote})
	}
	return res, nil
}

func importFormat(format, name string, fr FileReader) (*Result, error) {
	switch format {
	case "nginx":
		return ImportNginx(name, fr)
	case "apache":
		return ImportApache(name, fr)
	case "netlify", "csv":
		data, err := fr.readFile(name)
		if err != nil {
			return nil, fmt.Errorf("read: %w", err)
		}
		if err := checkText(data, name); err != nil {
			return nil, err
		}
		if format == "csv" {
			return ImportCSV(bytes.NewReader(data), name)
		}
		return ImportNetlify(bytes.NewReader(data), name)
	}
	return nil, fmt.Errorf("unknown format %q (known: nginx, apache, netlify, csv)", format)
}
