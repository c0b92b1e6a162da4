// Command tool is the helper of bench/run, the side-by-side benchmark of
// detour and nginx: it generates equal rule sets for both servers, checks
// a sample of their answers, waits for the first correct answer (load and
// reload time), reads CPU time and memory from /proc, parses wrk's output
// and prints the results table.
//
//	tool gen     -set 1|10k|1m|mixed -dir DIR [-next]
//	tool check   -url URL -sample FILE [-n 50] [-seed N]
//	tool ready   -url URL -path P -status 307 -location L -since UNIXNANO [-timeout 60s]
//	tool cpu     PID...
//	tool peakrss -pid PID -dur D [-interval 20ms]
//	tool row     -set S -server N -round R -wrk FILE -ticks T -pids P,P [-serving PID]
//	tool report  -dir OUT
//	tool port
//
// It is a benchmark helper, not part of detour: bench/README.md says how
// bench/run uses it.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a subcommand and returns the exit code: 0 success,
// 1 a failed check, 2 a usage error or a failure to run.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: tool gen|check|ready|cpu|peakrss|row|report|port ...")
		return 2
	}
	cmds := map[string]func([]string, io.Writer, io.Writer) int{
		"gen":     cmdGen,
		"check":   cmdCheck,
		"ready":   cmdReady,
		"cpu":     cmdCPU,
		"peakrss": cmdPeakRSS,
		"row":     cmdRow,
		"report":  cmdReport,
		"port":    cmdPort,
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "tool: unknown command %q\n", args[0])
		return 2
	}
	return cmd(args[1:], stdout, stderr)
}

// cmdPort prints a TCP port that is free on 127.0.0.1 now.
func cmdPort(args []string, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "port: %v\n", err)
		return 2
	}
	defer ln.Close()
	fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
	return 0
}
