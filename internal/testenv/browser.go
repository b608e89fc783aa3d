package testenv

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

var (
	chromiumOnce sync.Once
	chromiumPath string
	chromiumErr  error
)

// chromium finds the browser: $FUJU_CHROMIUM, else Debian's chromium. When it
// is missing and the tests run as root with apt-get (CI, a fresh Debian box),
// it installs Debian's chromium and CJK fonts, as .ci/run does.
func chromium(t testing.TB) string {
	t.Helper()
	chromiumOnce.Do(func() {
		if p := os.Getenv("FUJU_CHROMIUM"); p != "" {
			chromiumPath = p
			return
		}
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				chromiumPath = p
				return
			}
		}
		if os.Geteuid() != 0 {
			chromiumErr = exec.ErrNotFound
			return
		}
		t.Logf("testenv: installing Debian's chromium and fonts-noto-cjk with apt-get (once)")
		cmd := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk")
		if out, err := cmd.CombinedOutput(); err != nil {
			chromiumErr = &exec.Error{Name: "apt-get install chromium: " + string(out), Err: err}
			return
		}
		chromiumPath, chromiumErr = exec.LookPath("chromium")
	})
	if chromiumErr != nil {
		t.Fatalf("testenv: no Chromium (install Debian's chromium or set FUJU_CHROMIUM): %v", chromiumErr)
	}
	return chromiumPath
}

// Browser returns a chromedp context driving a fresh headless Chromium with a
// phone-sized window, stopped when the test ends.
func Browser(t testing.TB) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("lang", "zh-CN"),
		// Headless Chromium sends its own Accept-Language (en-US) whatever
		// --lang says; pages follow it on a first visit, so say Chinese,
		// as the city's phones do.
		chromedp.Flag("accept-lang", "zh-CN,zh"),
		chromedp.WindowSize(390, 844),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// Start the browser now, outside any per-step timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("testenv: start Chromium: %v", err)
	}
	return ctx
}

var (
	aptMu   sync.Mutex
	aptDone = map[string]error{}
)

// Command returns the path of a program tests need, installing its Debian
// package with apt-get when it is missing and the tests run as root (CI, a
// fresh machine); otherwise the test fails saying what to install. Nothing is
// skipped for want of a tool.
func Command(t testing.TB, name, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	aptMu.Lock()
	defer aptMu.Unlock()
	err, tried := aptDone[debianPackage]
	if !tried {
		if os.Geteuid() != 0 {
			err = exec.ErrNotFound
		} else {
			t.Logf("testenv: installing %s with apt-get (once)", debianPackage)
			out, e := exec.Command("sh", "-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "+debianPackage).CombinedOutput()
			if e != nil {
				err = &exec.Error{Name: "apt-get install " + debianPackage + ": " + string(out), Err: e}
			}
		}
		aptDone[debianPackage] = err
	}
	if err != nil {
		t.Fatalf("testenv: %s is missing (install Debian's %s): %v", name, debianPackage, err)
	}
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("testenv: %s still missing after installing %s", name, debianPackage)
	}
	return p
}
