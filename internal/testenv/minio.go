package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// minioModule is the MinIO server the tests run against, pinned so every
// machine tests the same server.
const minioModule = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// MinIOServer is a running MinIO server for tests.
type MinIOServer struct {
	// Endpoint is host:port, plain HTTP.
	Endpoint  string
	AccessKey string
	SecretKey string
}

var (
	minioOnce   sync.Once
	minioServer MinIOServer
	minioErr    error
	bucketSeq   atomic.Int64
)

// MinIO returns the MinIO server of this test binary, starting it on first
// use: one server per binary, on a free 127.0.0.1 port, with its data in a
// temporary directory removed at exit (Main), and ready for S3 calls when
// MinIO returns. The binary is found by findTool ($FUJU_MINIO_BIN, PATH,
// GOPATH/bin); when none exists it is installed with go install, which takes
// 2–3 minutes the first time. Tests
// never skip for want of MinIO: object storage is a real part.
func MinIO(t testing.TB) MinIOServer {
	t.Helper()
	minioOnce.Do(func() { minioServer, minioErr = startMinIO(t) })
	if minioErr != nil {
		t.Fatalf("testenv: MinIO: %v", minioErr)
	}
	return minioServer
}

var unsafeBucket = regexp.MustCompile(`[^a-z0-9]+`)

// BucketName returns a bucket name that is new in this test binary, valid in
// S3 (3–63 of [a-z0-9-], starting and ending with a letter or digit) and
// recognisable from the test's name and suffix. The test removes its buckets
// itself: testenv does not import an S3 client.
func (MinIOServer) BucketName(t testing.TB, suffix string) string {
	t.Helper()
	tail := fmt.Sprintf("-%d-%d-%s", os.Getpid()%100000, bucketSeq.Add(1), unsafeBucket.ReplaceAllString(strings.ToLower(suffix), ""))
	name := strings.Trim(unsafeBucket.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if max := 63 - len(tail) - 2; len(name) > max {
		name = strings.Trim(name[len(name)-max:], "-")
	}
	return "t-" + name + tail
}

func findMinIO(logf func(string, ...any)) (string, error) {
	return findTool(logf, "FUJU_MINIO_BIN", "minio", minioModule, "takes 2–3 minutes the first time")
}

func minioPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startMinIO(t testing.TB) (MinIOServer, error) {
	bin, err := findMinIO(t.Logf)
	if err != nil {
		return MinIOServer{}, err
	}
	dir, err := os.MkdirTemp("", "fuju-minio-")
	if err != nil {
		return MinIOServer{}, err
	}
	srv := MinIOServer{AccessKey: "fujutest", SecretKey: "fujutest-secret-key"}
	// A port taken between minioPort and MinIO's bind makes MinIO exit; try again.
	for attempt := range 3 {
		port, err := minioPort()
		if err != nil {
			return MinIOServer{}, err
		}
		console, err := minioPort()
		if err != nil {
			return MinIOServer{}, err
		}
		srv.Endpoint = fmt.Sprintf("127.0.0.1:%d", port)
		logPath := filepath.Join(dir, fmt.Sprintf("minio-%d.log", attempt))
		logFile, err := os.Create(logPath)
		if err != nil {
			return MinIOServer{}, err
		}
		cmd := exec.Command(bin, "server", "--quiet",
			"--address", srv.Endpoint,
			"--console-address", fmt.Sprintf("127.0.0.1:%d", console),
			filepath.Join(dir, "data"))
		cmd.Env = append(os.Environ(),
			"MINIO_ROOT_USER="+srv.AccessKey,
			"MINIO_ROOT_PASSWORD="+srv.SecretKey,
			"MINIO_BROWSER=off",
			"MINIO_UPDATE=off",
		)
		cmd.Stdout, cmd.Stderr = logFile, logFile
		ConfigureChild(cmd)
		if err := cmd.Start(); err != nil {
			logFile.Close()
			return MinIOServer{}, fmt.Errorf("start %s: %w", bin, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
		err = waitReady(srv.Endpoint, exited, 60*time.Second)
		if err == nil {
			atExit(func() {
				_ = cmd.Process.Signal(os.Interrupt)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
				_ = os.RemoveAll(dir)
			})
			return srv, nil
		}
		_ = cmd.Process.Kill()
		<-exited
		logged, _ := os.ReadFile(logPath)
		lastErr := fmt.Errorf("MinIO at %s did not become ready: %w\n%s", srv.Endpoint, err, lastBytes(logged, 4000))
		if attempt == 2 {
			_ = os.RemoveAll(dir)
			return MinIOServer{}, lastErr
		}
		t.Logf("testenv: %v; retrying on another port", lastErr)
	}
	panic("unreachable")
}

// waitReady polls MinIO until it can serve requests, the process exits, or
// the timeout passes. /minio/health/live and /ready answer 200 as soon as the
// HTTP server runs, while S3 calls still fail with "Server not initialized
// yet" for a moment; /minio/health/cluster waits for the object layer,
// bucket metadata and IAM.
func waitReady(endpoint string, exited <-chan struct{}, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+endpoint+"/minio/health/cluster", nil)
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
			return errors.New("MinIO exited")
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
