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
	if c.Addr != "127.0.0.1:8080" || c.DataDir != "./data" || c.Demo || !c.DemoHistory || c.MongoURI != "" || c.PollInterval != time.Second || c.MediaMaxBytes != 10<<20 ||
		c.SMSSender != SMSLog || c.SMSTimeout != 10*time.Second {
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

func TestSMSGateway(t *testing.T) {
	c, err := Load("fuju", []string{"-sms-timeout", "3s"}, env(map[string]string{
		"FUJU_SMS_SENDER": "http", "FUJU_SMS_URL": "https://sms.example.cn/send", "FUJU_SMS_TOKEN": "tok",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.SMSSender != SMSHTTP || c.SMSURL != "https://sms.example.cn/send" || c.SMSToken != "tok" || c.SMSTimeout != 3*time.Second {
		t.Errorf("gateway settings %+v", c)
	}
	for name, vars := range map[string]map[string]string{
		"FUJU_SMS_URL":     {"FUJU_SMS_SENDER": "http", "FUJU_SMS_URL": "sms.example.cn", "FUJU_SMS_TOKEN": "tok"},
		"FUJU_SMS_TOKEN":   {"FUJU_SMS_SENDER": "http", "FUJU_SMS_URL": "https://sms.example.cn/send"},
		"FUJU_SMS_SENDER":  {"FUJU_SMS_SENDER": "carrier-pigeon"},
		"FUJU_SMS_TIMEOUT": {"FUJU_SMS_TIMEOUT": "0s"},
	} {
		if _, err := Load("fuju", nil, env(vars), io.Discard); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%v: error %v does not name %s", vars, err, name)
		}
	}
}

func TestBadSettingsNameTheVariable(t *testing.T) {
	_, err := Load("fuju", nil, env(map[string]string{
		"FUJU_DEMO": "maybe", "FUJU_DEMO_HISTORY": "often", "FUJU_LOG_LEVEL": "loud", "FUJU_POLL_INTERVAL": "-1s",
		"FUJU_S3_ENDPOINT": "127.0.0.1:9000", "FUJU_MEDIA_MAX_BYTES": "12", "FUJU_MEDIA_SIGNING_KEY": "short",
		"FUJU_PUBLIC_URL": "fuju.example.cn/path?x=1",
	}), io.Discard)
	if err == nil {
		t.Fatal("bad settings accepted")
	}
	for _, v := range []string{"FUJU_DEMO", "FUJU_DEMO_HISTORY", "FUJU_LOG_LEVEL", "FUJU_POLL_INTERVAL", "FUJU_S3_ACCESS_KEY", "FUJU_MEDIA_MAX_BYTES", "FUJU_MEDIA_SIGNING_KEY", "FUJU_PUBLIC_URL"} {
		if !strings.Contains(err.Error(), v) {
			t.Errorf("error does not name %s: %v", v, err)
		}
	}
}

func TestStripeSettings(t *testing.T) {
	c, err := Load("fuju", nil, env(nil), io.Discard)
	if err != nil || c.StripeSecretKey != "" || c.PlatformFeeBP != 0 {
		t.Fatalf("online payment must be off by default: %+v, %v", c, err)
	}
	c, err = Load("fuju", []string{"-platform-fee-bp", "250"}, env(map[string]string{
		"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_a, whsec_b", "STRIPE_API_BASE": "http://127.0.0.1:12111",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.StripeSecretKey != "sk_test_123" || len(c.StripeWebhookSecrets) != 2 || c.StripeWebhookSecrets[1] != "whsec_b" ||
		c.StripeAPIBase != "http://127.0.0.1:12111" || c.PlatformFeeBP != 250 {
		t.Errorf("stripe settings %+v", c)
	}
	_, err = Load("fuju", nil, env(map[string]string{
		"STRIPE_SECRET_KEY": "pk_test_123", "STRIPE_API_BASE": "stripe-mock", "FUJU_PLATFORM_FEE_BP": "9000",
	}), io.Discard)
	for _, v := range []string{"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "FUJU_PLATFORM_FEE_BP"} {
		if err == nil || !strings.Contains(err.Error(), v) {
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
