//go:build linux

// Soak runs one wsbridge for a long while under a mix of clients (churn
// with close handshakes, dropped connections and resets; slow readers;
// children killed mid-session; a thousand lines each to be delivered in
// order; programs that do not read; programs that exit leaving a job
// behind; malformed and half-open requests) and
// fails if the server stops behaving or if anything it holds grows.
//
//	go run ./scripts/soak [-duration 1h] [-interval 5s] [-wsbridge PATH]
//
// wsbridge is built from the working tree unless -wsbridge names a binary.
// Every interval the server's resident memory, open descriptors, threads
// and children are read from /proc. The soak fails (exit status 1, with a
// line saying why) when a client finds the server misbehaving, when any of
// these figures trends upward (the median of the last quarter of the
// samples above the median of the second quarter, past a tolerance), or
// when, the load over, the server does not come back to no children and
// the descriptors it started with.
//
// A program whose first line has not reached its client within 20 s is a
// stall: the soak then prints what the server's children are doing and
// what the server's end of that program's terminal holds, and sends the
// server SIGQUIT for a dump of its goroutines (on stderr: keep it, e.g.
// 2>soak.log).
//
// Linux only: the figures come from /proc.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	duration := flag.Duration("duration", time.Hour, "how long the load runs")
	interval := flag.Duration("interval", 5*time.Second, "how often the server is sampled")
	binary := flag.String("wsbridge", "", "the wsbridge binary to soak; built from the working tree when empty")
	flag.Parse()
	if err := soak(*duration, *interval, *binary); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
	fmt.Println("soak: passed")
}

func soak(duration, interval time.Duration, binary string) error {
	tmp, err := os.MkdirTemp("", "wsbridge-soak")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if binary == "" {
		binary = filepath.Join(tmp, "wsbridge")
		build := exec.Command("go", "build", "-o", binary, "wsbridge")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building wsbridge: %w", err)
		}
	}
	dir := filepath.Join(tmp, "programs")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := writePrograms(dir); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, addr, err := start(binary, "--address=127.0.0.1", "--port=0", "--loglevel=info", "--log-format=json", "--dir="+dir)
	if err != nil {
		return err
	}
	defer func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	}()
	pid := srv.Process.Pid
	serverPid = pid
	base, err := sampleOf(pid)
	if err != nil {
		return err
	}
	fmt.Printf("soak: wsbridge pid %d on %s for %v; at rest: %s\n", pid, addr, duration, describe(base))

	load, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var (
		wg       sync.WaitGroup
		sessions atomic.Int64
		failures atomic.Int64
		firstErr error
		errMu    sync.Mutex
	)
	for _, c := range clients {
		wg.Go(func() {
			for i := 0; load.Err() == nil; i++ {
				cctx, ccancel := context.WithTimeout(load, 30*time.Second)
				err := c.run(cctx, addr, i)
				ccancel()
				if err != nil && load.Err() == nil {
					failures.Add(1)
					errMu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("%s: %w", c.name, err)
					}
					errMu.Unlock()
					fmt.Fprintf(os.Stderr, "soak: %s: %v\n", c.name, err)
				}
				sessions.Add(1)
			}
		})
	}

	var samples []sample
	start := time.Now()
	tick := time.NewTicker(interval)
sampling:
	for {
		select {
		case <-load.Done():
			break sampling
		case <-tick.C:
		}
		s, err := sampleOf(pid)
		if err != nil {
			tick.Stop()
			cancel()
			wg.Wait()
			return err
		}
		samples = append(samples, s)
		if len(samples)%12 == 1 {
			fmt.Printf("soak: %6s  %s, %d sessions\n", time.Since(start).Round(time.Second), describe(s), sessions.Load())
		}
	}
	tick.Stop()
	wg.Wait()
	if ctx.Err() != nil {
		return errors.New("interrupted")
	}

	rest, err := settle(pid, base)
	fmt.Printf("soak: %d sessions, %d failures; after the load: %s\n", sessions.Load(), failures.Load(), describe(rest))
	report := verdict(samples)
	for _, line := range report.lines {
		fmt.Println("soak:", line)
	}
	switch {
	case firstErr != nil:
		return fmt.Errorf("%d clients found the server misbehaving; the first: %w", failures.Load(), firstErr)
	case err != nil:
		return err
	case report.failed != "":
		return errors.New(report.failed)
	}
	return nil
}

// describe sums a sample up in one line.
func describe(s sample) string {
	return fmt.Sprintf("RSS %d KiB, %d fds, %d threads, %d children (%d zombies)", s.RSS, s.FDs, s.Threads, s.Children, s.Zombies)
}

// start starts the server with args and returns it with the address it
// listens on, from its "listening" log event.
func start(binary string, args ...string) (*exec.Cmd, string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	if err := cmd.Start(); err != nil {
		return nil, "", fmt.Errorf("starting %s: %w", binary, err)
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var ev struct{ Message, Address string }
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Message == "listening" {
				select {
				case addr <- ev.Address:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a, nil
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		cmd.Wait()
		return nil, "", errors.New("wsbridge did not start listening")
	}
}

// settle waits for the server to come back to no children and the
// descriptors it had at rest, and returns where it got.
func settle(pid int, base sample) (sample, error) {
	var s sample
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if s, err = sampleOf(pid); err != nil {
			return s, err
		}
		if s.Children == 0 && s.FDs <= base.FDs {
			return s, nil
		}
	}
	return s, fmt.Errorf("after the load the server still has %d children (%d zombies) and %d descriptors (%d at rest)", s.Children, s.Zombies, s.FDs, base.FDs)
}

// report is the verdict on a run's samples: a line per figure, and why
// the run failed, if it did.
type report struct {
	lines  []string
	failed string
}

// verdict tells whether any figure trends upward over the samples.
func verdict(samples []sample) report {
	var r report
	for _, f := range []struct {
		name string
		get  func(sample) float64
		tol  tolerance
	}{
		// Memory settles within some MiB. Descriptors and children
		// move with the sessions of the moment, so their trends get
		// room; settle checks them exactly once the load is over.
		{"RSS (KiB)", func(s sample) float64 { return float64(s.RSS) }, tolerance{Rel: 0.10, Abs: 4096}},
		{"descriptors", func(s sample) float64 { return float64(s.FDs) }, tolerance{Rel: 0.5, Abs: 32}},
		{"threads", func(s sample) float64 { return float64(s.Threads) }, tolerance{Rel: 0.25, Abs: 4}},
		{"children", func(s sample) float64 { return float64(s.Children) }, tolerance{Rel: 0.5, Abs: 8}},
		{"zombies", func(s sample) float64 { return float64(s.Zombies) }, tolerance{Abs: 2}},
	} {
		xs := make([]float64, len(samples))
		for i, s := range samples {
			xs[i] = f.get(s)
		}
		up, how := trend(xs, f.tol)
		r.lines = append(r.lines, fmt.Sprintf("%-12s %s", f.name+":", how))
		if up && r.failed == "" {
			r.failed = fmt.Sprintf("%s trend upward: %s", f.name, how)
		}
	}
	return r
}
