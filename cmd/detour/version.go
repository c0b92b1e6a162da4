package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// version prints detour's module version and the Go version it was built
// with: "detour v1.2.3 go1.26.0 linux/amd64".
func (m *Main) version(args []string) int {
	const usageLine = "detour version"
	pos, code, ok := m.parseFlags(newFlagSet("version"), args, usageLine)
	if !ok {
		return code
	}
	if len(pos) > 0 {
		return m.usageError(usageLine, "version takes no arguments")
	}
	v, goVersion := "(unknown)", runtime.Version()
	if info, ok := debug.ReadBuildInfo(); ok {
		v = info.Main.Version
		if v == "" {
			v = "(devel)"
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
	}
	fmt.Fprintf(m.Stdout, "detour %s %s %s/%s\n", v, goVersion, runtime.GOOS, runtime.GOARCH)
	return exitOK
}
