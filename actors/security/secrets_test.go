package security

import (
	"context"
	"strings"
	"testing"

	"github.com/ymera/ymera/actors"
)

// Fake credentials are assembled at run time so that this file holds none
// in one piece: neither this agent scanning its own repository nor a
// push-protection scanner should take the fixtures for leaks.
var (
	fakeAWSKey       = "AKIA" + "Q3J7ZK2M4N5P6R8T"
	fakeAWSTempKey   = "ASIA" + "Z9Y8X7W6V5U4T3S2"
	fakeAWSExample   = "AKIA" + "IOSFODNN7EXAMPLE"
	fakeAWSSecret    = "q8Rt/3kPz" + "X1vB7nM2cL9wE4yH6jA0sD5fG+uKLm3"
	fakeGitHub       = "ghp_" + strings.Repeat("aB3d", 9)
	fakeGitHubPAT    = "github_pat_" + "11ABCDEFG0" + strings.Repeat("xY_9", 14)
	fakeSlack        = "xoxb-" + "123456789012-1234567890123-" + "AbCdEfGhIjKlMnOpQrStUvWx"
	fakeStripe       = "sk_" + "live_" + strings.Repeat("4eC39Hq", 4)
	fakeGoogle       = "AIza" + "SyD-" + strings.Repeat("x1Y2z3", 5) + "a"
	fakeJWT          = "eyJ" + "hbGciOiJIUzI1NiJ9" + ".eyJ" + "zdWIiOiIxMjM0NTY3ODkwIn0" + ".dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
	fakePrivateKey   = "-----BEGIN " + "RSA PRIVATE KEY-----"
	fakeOpenSSHKey   = "-----BEGIN " + "OPENSSH PRIVATE KEY-----"
	fakePassword     = "hunter2" + "Xy9"
	fakeGenericToken = "a8f5f167f44f" + "4964e6c998dee827110c"
)

func TestSecretRules(t *testing.T) {
	t.Parallel()
	runScanCases(t, []scanCase{
		// Provider formats, in any file.
		{name: "aws access key in go", path: "aws.go", content: lines(`package aws`, ``, `const key = "`+fakeAWSKey+`"`), want: []hit{{3, ruleAWSAccessKey}}},
		{name: "aws temporary key in a text file", path: "notes.txt", content: lines(`creds: ` + fakeAWSTempKey), want: []hit{{1, ruleAWSAccessKey}}},
		{name: "aws documentation example key ignored", path: "README.md", content: lines(`export AWS_ACCESS_KEY_ID=` + fakeAWSExample), want: nil},
		{name: "aws key inside a longer word ignored", path: "x.txt", content: lines(`X` + fakeAWSKey + `Z`), want: nil},
		{name: "aws secret access key in python", path: "settings.py", content: lines(`AWS_SECRET_ACCESS_KEY = "` + fakeAWSSecret + `"`), want: []hit{{1, ruleAWSSecretKey}}},
		{name: "aws secret access key in json", path: "c.json", content: lines(`{`, `  "aws_secret_access_key": "`+fakeAWSSecret+`"`, `}`), want: []hit{{2, ruleAWSSecretKey}}},
		{name: "aws secret access key in ini", path: "credentials.ini", content: lines(`[default]`, `aws_secret_access_key = `+fakeAWSSecret), want: []hit{{2, ruleAWSSecretKey}}},
		{name: "rsa private key block", path: "id_rsa", content: lines(fakePrivateKey, `MIIEowIBAAKCAQEA`, `-----END RSA PRIVATE KEY-----`), want: []hit{{1, rulePrivateKey}}},
		{name: "openssh private key in a go raw string", path: "k.go", content: lines("package k", "", "var key = `"+fakeOpenSSHKey, "b3BlbnNzaC1rZXktdjEAAAAA", "`"), want: []hit{{3, rulePrivateKey}}},
		{name: "public key block ignored", path: "k.pem", content: lines(`-----BEGIN PUBLIC KEY-----`, `MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A`), want: nil},
		{name: "github classic token", path: "ci.yml", content: lines(`env:`, `  GH_TOKEN: `+fakeGitHub), want: []hit{{2, ruleGitHubToken}}},
		{name: "github fine-grained token", path: "x.js", content: lines(`const t = "` + fakeGitHubPAT + `";`), want: []hit{{1, ruleGitHubToken}}},
		{name: "github token too short ignored", path: "x.js", content: lines(`const prefix = "ghp_abc";`), want: nil},
		{name: "slack bot token", path: "bot.py", content: lines(`client = WebClient(token="` + fakeSlack + `")`), want: []hit{{1, ruleSlackToken}}},
		{name: "slack placeholder ignored", path: "bot.py", content: lines(`SLACK = "xoxb-your-token-here"`), want: nil},
		{name: "stripe live key", path: "pay.ts", content: lines(`const stripe = new Stripe("` + fakeStripe + `");`), want: []hit{{1, ruleStripeLiveKey}}},
		{name: "stripe test key ignored", path: "pay.ts", content: lines(`const stripe = new Stripe("sk_test_4eC39HqLyjWDarjtT1zdp7dc");`), want: nil},
		{name: "google api key", path: "maps.html", content: lines(`<script src="https://maps.googleapis.com/maps/api/js?key=` + fakeGoogle + `"></script>`), want: []hit{{1, ruleGoogleAPIKey}}},
		{name: "jwt assigned", path: "auth_test.py", content: lines(`token = "` + fakeJWT + `"`), want: []hit{{1, ruleJWT}}},
		{name: "jwt in a bearer header", path: "req.sh", content: lines(`curl -H "Authorization: Bearer ` + fakeJWT + `" https://api`), want: []hit{{1, ruleJWT}}},
		{name: "secret in a comment still reported", path: "x.go", content: lines(`package x`, `// old key: `+fakeAWSKey), want: []hit{{2, ruleAWSAccessKey}}},
		{name: "one finding per rule per line", path: "x.txt", content: lines(fakeAWSKey + " " + fakeAWSTempKey), want: []hit{{1, ruleAWSAccessKey}}},

		// Credentials assigned to string literals.
		{name: "python assignment", path: "db.py", content: lines(`password = "` + fakePassword + `"`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "python keyword argument", path: "db.py", content: lines(`conn = psycopg2.connect(host="db", password="` + fakePassword + `")`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "python annotated assignment", path: "db.py", content: lines(`db_password: str = '` + fakePassword + `'`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "python dict item assignment", path: "db.py", content: lines(`config["api_key"] = "` + fakeGenericToken + `"`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "json key", path: "config.json", content: lines(`{"user": "app", "password": "` + fakePassword + `"}`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "js object property", path: "c.js", content: lines(`module.exports = {`, `  apiKey: '`+fakeGenericToken+`',`, `};`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "typescript annotated field", path: "c.ts", content: lines(`class C {`, `  private clientSecret: string = "`+fakeGenericToken+`";`, `}`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "go short variable", path: "c.go", content: lines(`package c`, `func f() { dbPassword := "`+fakePassword+`"; _ = dbPassword }`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "go typed var", path: "c.go", content: lines(`package c`, `var APIKey string = "`+fakeGenericToken+`"`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "go struct literal field", path: "c.go", content: lines(`package c`, `var c = Config{Password: "`+fakePassword+`"}`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "php arrow", path: "c.php", content: lines(`$c = ['password' => '` + fakePassword + `'];`), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "dotenv entry", path: ".env", content: lines(`DB_HOST=localhost`, `DB_PASSWORD=`+fakePassword), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "dotenv variant with export", path: "deploy/.env.production", content: lines(`export STRIPE_SECRET=` + fakeGenericToken), want: []hit{{1, ruleHardcodedSecret}}},
		{name: "yaml entry with a comment", path: "docker-compose.yml", content: lines(`services:`, `  db:`, `    environment:`, `      POSTGRES_PASSWORD: `+fakePassword+` # for dev`), want: []hit{{4, ruleHardcodedSecret}}},
		{name: "toml quoted entry", path: "app.toml", content: lines(`[db]`, `password = "`+fakePassword+`"`), want: []hit{{2, ruleHardcodedSecret}}},
		{name: "message masks the value", path: "db.py", content: lines(`password = "` + fakePassword + `"`), want: []hit{{1, ruleHardcodedSecret}}},

		// Values read at run time, and placeholders.
		{name: "python getenv", path: "db.py", content: lines(`password = os.getenv("DB_PASSWORD")`, `password = os.environ["DB_PASSWORD"]`, `password = os.getenv("DB_PASSWORD", "")`), want: nil},
		{name: "go getenv", path: "db.go", content: lines(`package db`, `var password = os.Getenv("DB_PASSWORD")`), want: nil},
		{name: "js process.env", path: "c.js", content: lines(`const apiKey = process.env.API_KEY;`, `const secret = process.env["SECRET"] || "";`), want: nil},
		{name: "empty and dummy values", path: "c.py", content: lines(`password = ""`, `password = "changeme"`, `PASSWORD = 'CHANGE_ME'`, `secret = "TODO"`, `api_key = "None"`), want: nil},
		{name: "references and templates", path: "c.py", content: lines(`password = "${DB_PASSWORD}"`, `password = "$DB_PASSWORD"`, `password = f"{prefix}-{suffix}"`, `password = "{{ .Values.password }}"`, `password = "%(pw)s"`), want: nil},
		{name: "angle brackets and masks", path: "c.py", content: lines(`password = "<your-password>"`, `password = "xxx"`, `password = "********"`, `api_key = "XXXX-XXXX"`, `password = "…"`), want: nil},
		{name: "prose values", path: "c.js", content: lines(`const passwordLabel = "Enter your password";`, `const msg = { password: "must be 8 characters" };`), want: nil},
		{name: "values naming the field", path: "c.py", content: lines(`PASSWORD_KEY = "password"`, `SECRET_REF = "app-secret"`, `TOKEN_HEADER = "X-Auth-Token"`), want: nil},
		{name: "names describing a credential", path: "c.py", content: lines(`PASSWORD_MIN_LENGTH = "8"`, `secret_name = "prod-db"`, `password_reset_url = "/reset"`, `SECRET_ARN = "arn:aws:sm:1"`, `passwordField = "pw"`), want: nil},
		{name: "comparisons are not assignments", path: "c.py", content: lines(`if password == "admin1234":`, `    pass`), want: nil},
		{name: "go struct tags", path: "c.go", content: lines("package c", "type C struct {", "\tPassword string `json:\"password\"`", "\tAPIKey   string `yaml:\"api_key,omitempty\"`", "}"), want: nil},
		{name: "unquoted value in code is a reference", path: "c.py", content: lines(`password = hunter_password`), want: nil},
		{name: "dotenv references and empties", path: ".env", content: lines(`DB_PASSWORD=`, `API_KEY=${API_KEY}`, `SECRET_KEY="<set me>"`), want: nil},
		{name: "yaml tags and nested blocks", path: "c.yaml", content: lines(`password: !vault |`, `  $ANSIBLE_VAULT;1.1;AES256`, `secrets:`, `  password: *default_password`), want: nil},
	})
}

func TestSecretMessagesAreMasked(t *testing.T) {
	t.Parallel()
	secrets := []string{fakeAWSKey, fakeAWSSecret, fakeGitHub, fakeGitHubPAT, fakeSlack, fakeStripe, fakeGoogle, fakeJWT, fakePassword, fakeGenericToken}
	var files []actors.SourceFile
	for i, s := range secrets {
		files = append(files, actors.SourceFile{Path: "f" + string(rune('a'+i)) + ".py", Content: `aws_secret_access_key = "` + s + `"` + "\n" + `password = "` + s + `"` + "\n"})
	}
	r, err := Scan(context.Background(), files)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Findings) < len(secrets) {
		t.Fatalf("got %d findings for %d secrets:\n%s", len(r.Findings), len(secrets), messages(r.Findings))
	}
	for _, f := range r.Findings {
		for _, s := range secrets {
			if strings.Contains(f.Message, s) || strings.Contains(f.Message, s[:len(s)/2]) {
				t.Errorf("%s:%d %s message shows the secret: %s", f.File, f.Line, f.Rule, f.Message)
			}
		}
	}
}

func TestMask(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"", "…"},
		{"abc", "…"},
		{"hunter2!", "hu…"},
		{"0123456789abcdef", "0123…"},
		{"AKIAQ3J7ZK2M4N5P6R8T", "AKIA…"},
		{"пароль-пароль", "пар…"},
	} {
		if got := mask(tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestIsPlaceholder(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"", " ", "changeme", "CHANGEME", "my-changeme-pw", "password", "Secret", "${X}", "$X", "<pw>", "xxx", "***", "•••", "your_api_key", "example123", "redacted", "a b", "!vault", "|", "{x}", "%(x)s", "app-secret", "null"} {
		if !isPlaceholder(v) {
			t.Errorf("isPlaceholder(%q) = false, want true", v)
		}
	}
	for _, v := range []string{"hunter2", "s3cr3t!", "P@ssw0rd!", "0a1b2c3d", "key-3ax6xnjp29jd6fds4gc373sgvjxteol0", "x1"} {
		if isPlaceholder(v) {
			t.Errorf("isPlaceholder(%q) = true, want false", v)
		}
	}
}
