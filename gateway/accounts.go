package gateway

import (
	"context"
)

// HashPassword returns the argon2id PHC string of password exactly as the
// gateway stores and verifies it, for accounts made outside the API (the
// `ymera user create` command, the first admin). Zero params mean
// DefaultPasswordParams.
func HashPassword(ctx context.Context, password string, params PasswordParams) (string, error) {
	pw, err := newPasswords(params)
	if err != nil {
		return "", err
	}
	return pw.hash(ctx, password)
}
