package gateway

import (
	"context"
	"regexp"
	"strings"
	"testing"
)

var phc = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

// TestDefaultPasswordParams hashes with the production parameters once.
func TestDefaultPasswordParams(t *testing.T) {
	t.Parallel()
	if d := DefaultPasswordParams(); d.Memory < 19*1024 || d.Iterations < 2 || d.Parallelism < 1 {
		t.Fatalf("defaults %+v are below OWASP's m=19456 KiB, t=2, p=1", d)
	}
	pw, err := newPasswords(PasswordParams{}) // zero means the defaults
	if err != nil {
		t.Fatal(err)
	}
	if pw.params != DefaultPasswordParams() {
		t.Fatalf("zero params gave %+v", pw.params)
	}
	ctx := context.Background()
	h, err := pw.hash(ctx, "SecurePass123!")
	if err != nil {
		t.Fatal(err)
	}
	m := phc.FindStringSubmatch(h)
	if m == nil || m[1] != "19456" || m[2] != "2" || m[3] != "1" {
		t.Fatalf("hash %q is not a PHC string with m=19456,t=2,p=1", h)
	}
	if ok, rehash, err := pw.verify(ctx, "SecurePass123!", h); !ok || rehash || err != nil {
		t.Fatalf("verify = %v, %v, %v", ok, rehash, err)
	}
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cheap := PasswordParams{Memory: 64, Iterations: 1, Parallelism: 1}
	pw, err := newPasswords(cheap)
	if err != nil {
		t.Fatal(err)
	}
	h1, err := pw.hash(ctx, "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := pw.hash(ctx, "correct horse")
	if h1 == h2 {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	if !phc.MatchString(h1) {
		t.Errorf("hash %q is not PHC", h1)
	}
	if ok, _, err := pw.verify(ctx, "correct horse", h1); !ok || err != nil {
		t.Errorf("right password: %v, %v", ok, err)
	}
	if ok, _, err := pw.verify(ctx, "correct horsE", h1); ok || err != nil {
		t.Errorf("wrong password: %v, %v", ok, err)
	}
	if err := pw.verifyDummy(ctx, "anything"); err != nil {
		t.Errorf("dummy: %v", err)
	}

	// A hash made with other parameters still verifies, and asks to be redone.
	stronger, err := newPasswords(PasswordParams{Memory: 128, Iterations: 2, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ok, rehash, err := stronger.verify(ctx, "correct horse", h1); !ok || !rehash || err != nil {
		t.Errorf("old parameters: ok %v, rehash %v, err %v", ok, rehash, err)
	}

	for _, bad := range []string{
		"",
		"plaintext",
		"$2b$12$abcdefghijklmnopqrstuuK0PMBEz0XAhYy5hD6fnn8lA2xJjzXW", // bcrypt
		strings.Replace(h1, "argon2id", "argon2i", 1),
		strings.Replace(h1, "v=19", "v=16", 1),
		strings.Replace(h1, "m=64", "m=99999999", 1), // a hostile row must not allocate 95 GiB
		strings.Replace(h1, "t=1", "t=0", 1),
		strings.Replace(h1, "p=1", "p=x", 1),
		h1[:len(h1)-43] + "!!!",
	} {
		if ok, _, err := pw.verify(ctx, "correct horse", bad); ok || err == nil {
			t.Errorf("verify(%q) = %v, %v; want an error", bad, ok, err)
		}
	}

	// Hashing waits for a slot and gives up with its context.
	full := &passwords{params: cheap, slots: make(chan struct{}, 1)}
	full.slots <- struct{}{}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := full.hash(cancelled, "x"); err == nil {
		t.Error("hash with every slot taken and a cancelled context succeeded")
	}
}
