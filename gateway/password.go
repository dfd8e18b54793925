package gateway

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Sizes of argon2id's salt and output, in bytes (RFC 9106 recommends 16 and 32).
const (
	saltLen = 16
	keyLen  = 32
)

// Bounds on parameters read back from a stored hash, so that a corrupt or
// hostile row cannot make a login allocate gigabytes or spin for minutes.
const (
	maxMemoryKiB  = 1 << 20 // 1 GiB
	maxIterations = 64
)

// PasswordParams are argon2id's cost parameters. Hashes record the
// parameters they were made with, so raising them later only affects new
// hashes (and rehashes at login); old ones still verify.
type PasswordParams struct {
	// Memory is in KiB.
	Memory uint32
	// Iterations is argon2's time cost.
	Iterations uint32
	// Parallelism is the number of lanes.
	Parallelism uint8
}

// DefaultPasswordParams are one of OWASP's recommended argon2id settings
// (Password Storage Cheat Sheet): 19 MiB, 2 iterations, 1 lane, tens of
// milliseconds per hash on one core. OWASP rates its other settings (46 MiB
// with 1 iteration, ...) as equally strong; this one needs the least memory
// per login in flight, which matters on a small gateway.
func DefaultPasswordParams() PasswordParams {
	return PasswordParams{Memory: 19 * 1024, Iterations: 2, Parallelism: 1}
}

// weakerThan reports whether p costs less than q in any dimension.
func (p PasswordParams) weakerThan(q PasswordParams) bool {
	return p.Memory < q.Memory || p.Iterations < q.Iterations
}

// validate checks that argon2 can run with p and that p is within the bounds
// we accept from storage.
func (p PasswordParams) validate() error {
	switch {
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("argon2id iterations %d not in [1, %d]", p.Iterations, maxIterations)
	case p.Parallelism < 1:
		return errors.New("argon2id parallelism must be at least 1")
	case p.Memory < 8*uint32(p.Parallelism) || p.Memory > maxMemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB not in [%d, %d]", p.Memory, 8*uint32(p.Parallelism), maxMemoryKiB)
	}
	return nil
}

// passwords hashes and verifies passwords with argon2id.
type passwords struct {
	params PasswordParams
	// slots bounds the hashes computed at once: each holds Memory KiB, and
	// more hashes than cores only queue for the CPU while holding it.
	slots chan struct{}
	// dummy is the hash of a random password, verified when a login names
	// no user, so that an unknown username costs the same as a wrong
	// password and timing does not reveal which usernames exist.
	dummy string
}

// newPasswords returns a hasher with params (zero means the defaults).
func newPasswords(params PasswordParams) (*passwords, error) {
	if params == (PasswordParams{}) {
		params = DefaultPasswordParams()
	}
	if err := params.validate(); err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	pw := &passwords{params: params, slots: make(chan struct{}, runtime.GOMAXPROCS(0))}
	dummy, err := pw.hash(context.Background(), rand.Text())
	if err != nil {
		return nil, err
	}
	pw.dummy = dummy
	return pw, nil
}

// hash returns password's PHC string:
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<hash>, salt and
// hash in unpadded standard base64.
func (pw *passwords) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("gateway: password salt: %w", err)
	}
	key, err := pw.derive(ctx, password, salt, pw.params, keyLen)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		pw.params.Memory, pw.params.Iterations, pw.params.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// verify reports whether password matches the PHC string encoded and
// whether encoded should be replaced by a hash with the current parameters.
// An encoded string we cannot parse is an error, not a mismatch.
func (pw *passwords) verify(ctx context.Context, password, encoded string) (ok, rehash bool, err error) {
	params, salt, want, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got, err := pw.derive(ctx, password, salt, params, uint32(len(want)))
	if err != nil {
		return false, false, err
	}
	ok = subtle.ConstantTimeCompare(got, want) == 1
	return ok, ok && params != pw.params, nil
}

// verifyDummy does the work of a verification that fails.
func (pw *passwords) verifyDummy(ctx context.Context, password string) error {
	_, _, err := pw.verify(ctx, password, pw.dummy)
	return err
}

// derive runs argon2id once a slot is free, or gives up when ctx is done.
func (pw *passwords) derive(ctx context.Context, password string, salt []byte, p PasswordParams, n uint32) ([]byte, error) {
	select {
	case pw.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("gateway: waiting to hash a password: %w", ctx.Err())
	}
	defer func() { <-pw.slots }()
	return argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, n), nil
}

// parsePHC reads an argon2id PHC string.
func parsePHC(encoded string) (PasswordParams, []byte, []byte, error) {
	var p PasswordParams
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=..,t=..,p=..", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("gateway: password hash is not an argon2id PHC string")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return p, nil, nil, fmt.Errorf("gateway: unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Iterations, &p.Parallelism); err != nil {
		return p, nil, nil, fmt.Errorf("gateway: argon2id parameters %q: %w", parts[3], err)
	}
	if err := p.validate(); err != nil {
		return p, nil, nil, fmt.Errorf("gateway: stored %w", err)
	}
	b64 := base64.RawStdEncoding
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("gateway: argon2id salt is malformed")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("gateway: argon2id hash is malformed")
	}
	return p, salt, key, nil
}
