package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// stripeMockModule is the stripe-mock server the tests run against: the last
// release whose OpenAPI document is Stripe API version 2023-10-16, the
// version stripe-go v76 speaks.
const stripeMockModule = "github.com/stripe/stripe-mock@v0.183.0"

var (
	stripeMockOnce sync.Once
	stripeMockURL  string
	stripeMockErr  error
)

// StripeMock returns the base URL (http://127.0.0.1:port) of the stripe-mock
// server of this test binary, starting it on first use: one server per binary,
// on ports the kernel picks, stopped at exit (Main). stripe-mock answers every
// Stripe API call with a fixture after validating its parameters against
// Stripe's OpenAPI document (and, with -strict-version-check, the
// Stripe-Version header); it keeps no state between calls. The binary is
// found by findTool ($FUJU_STRIPE_MOCK_BIN, PATH, GOPATH/bin) and installed
// with go install when missing (about a minute the first time).
func StripeMock(t testing.TB) string {
	t.Helper()
	stripeMockOnce.Do(func() { stripeMockURL, stripeMockErr = startStripeMock(t) })
	if stripeMockErr != nil {
		t.Fatalf("testenv: stripe-mock: %v", stripeMockErr)
	}
	return stripeMockURL
}

var listening = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

func startStripeMock(t testing.TB) (string, error) {
	bin, err := findTool(t.Logf, "FUJU_STRIPE_MOCK_BIN", "stripe-mock", stripeMockModule, "about a minute the first time")
	if err != nil {
		return "", err
	}
	// Both listeners on loopback ports the kernel picks: stripe-mock's HTTPS
	// default (:12112 on every interface) would collide between test
	// binaries running at once.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:", "-strict-version-check")
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = cmd.Stdout
	ConfigureChild(cmd)
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %w", bin, err)
	}
	exited := make(chan struct{})
	addr := make(chan string, 1)
	var logged strings.Builder
	var logMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			if logged.Len() < 8000 {
				logged.WriteString(line + "\n")
			}
			logMu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	go func() { _ = cmd.Wait(); close(exited) }()
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	fail := func(err error) (string, error) {
		stop()
		logMu.Lock()
		defer logMu.Unlock()
		return "", fmt.Errorf("%w\n%s", err, logged.String())
	}
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-exited:
		return fail(errors.New("stripe-mock exited before listening"))
	case <-time.After(60 * time.Second):
		return fail(errors.New("stripe-mock did not listen within 60s"))
	}
	if err := waitStripeMock(base, exited, 30*time.Second); err != nil {
		return fail(err)
	}
	atExit(stop)
	return base, nil
}

// waitStripeMock polls until stripe-mock answers an API call.
func waitStripeMock(base string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer sk_test_fuju")
		resp, err := client.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-exited:
			return errors.New("stripe-mock exited")
		case <-ctx.Done():
			return fmt.Errorf("stripe-mock at %s did not answer: %w", base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
