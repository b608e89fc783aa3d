package config

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestDefaultsAndOverrides(t *testing.T) {
	c, err := Load("fuju", nil, env(nil), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.Demo || c.MongoURI != "" || c.PollInterval != time.Second || c.MediaMaxBytes != 10<<20 {
		t.Errorf("defaults %+v", c)
	}
	c, err = Load("fuju", []string{"-addr", ":9000", "-demo"}, env(map[string]string{"FUJU_ADDR": ":7000", "FUJU_DEMO": "false", "FUJU_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.1"}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":9000" || !c.Demo || len(c.TrustedProxies) != 2 {
		t.Errorf("flags must override the environment: %+v", c)
	}
	c, err = Load("fuju", nil, env(map[string]string{"FUJU_PUBLIC_URL": "https://fuju.example.cn/"}), io.Discard)
	if err != nil || c.PublicURL != "https://fuju.example.cn" {
		t.Errorf("public URL %q %v", c.PublicURL, err)
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	_, err := Load("fuju", nil, env(map[string]string{
		"FUJU_DEMO": "maybe", "FUJU_LOG_LEVEL": "loud", "FUJU_POLL_INTERVAL": "-1s",
		"FUJU_S3_ENDPOINT": "127.0.0.1:9000", "FUJU_MEDIA_MAX_BYTES": "12", "FUJU_MEDIA_SIGNING_KEY": "short",
		"FUJU_PUBLIC_URL": "fuju.example.cn/path?x=1",
	}), io.Discard)
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, v := range []string{"FUJU_DEMO", "FUJU_LOG_LEVEL", "FUJU_POLL_INTERVAL", "FUJU_S3_ACCESS_KEY", "FUJU_MEDIA_MAX_BYTES", "FUJU_MEDIA_SIGNING_KEY", "FUJU_PUBLIC_URL"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}

// The README documents every setting.
func TestREADMEListsEverySetting(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		if !strings.Contains(string(b), "`"+v.Env+"`") {
			t.Errorf("README.md does not document %s", v.Env)
		}
	}
}

func TestSecretIsKept(t *testing.T) {
	dir := t.TempDir()
	a, err := Secret(dir, "k", 32)
	if err != nil || len(a) != 32 {
		t.Fatal(err)
	}
	b, _ := Secret(dir, "k", 32)
	if string(a) != string(b) {
		t.Error("secret changed between calls")
	}
	fi, _ := os.Stat(filepath.Join(dir, "secrets", "k"))
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode())
	}
}
