package convert

import (
	"bytes"
	"fmt"
)

// Import reads the file name in format ("nginx", "apache", "netlify",
// "csv") through fr and converts it. The error is a read error or wraps
// ErrSyntax; an unknown format is an error too.
func Import(format, name string, fr FileReader) (*Result, error) {
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
