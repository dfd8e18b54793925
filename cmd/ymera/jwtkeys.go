package main

import (
	"crypto/rsa"
	"fmt"
	"log/slog"
	"os"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ymera/ymera/gateway"
)

// authConfig turns the JWT_* settings into the gateway's token
// configuration: HS256 with JWT_SECRET_KEY (or the secret kept in DATA_DIR),
// or RS256 with the PEM files JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE.
// The gateway checks the key material itself (secret length, RSA size,
// that the two keys are a pair).
func authConfig(cfg Config, log *slog.Logger) (gateway.AuthConfig, error) {
	ac := gateway.AuthConfig{
		Algorithm: cfg.JWT.Algorithm,
		Issuer:    cfg.JWT.Issuer,
		Audience:  cfg.JWT.Audience,
		Expiry:    cfg.JWT.Expiry,
	}
	if ac.Algorithm != gateway.AlgRS256 {
		secret, err := jwtSecret(cfg, log)
		if err != nil {
			return ac, err
		}
		ac.Secret = secret
		return ac, nil
	}
	var err error
	if ac.PrivateKey, err = readRSAPrivateKey(cfg.JWT.PrivateKeyFile); err != nil {
		return ac, err
	}
	if cfg.JWT.PublicKeyFile != "" {
		if ac.PublicKey, err = readRSAPublicKey(cfg.JWT.PublicKeyFile); err != nil {
			return ac, err
		}
	}
	return ac, nil
}

// readRSAPrivateKey reads a PEM RSA private key (PKCS #1 or PKCS #8).
func readRSAPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("JWT_PRIVATE_KEY_FILE: %w", err)
	}
	k, err := jwt.ParseRSAPrivateKeyFromPEM(b)
	if err != nil {
		// The parser's message never quotes key material.
		return nil, fmt.Errorf("JWT_PRIVATE_KEY_FILE=%s: not a PEM RSA private key: %w", path, err)
	}
	return k, nil
}

// readRSAPublicKey reads a PEM RSA public key (PKIX, PKCS #1 or a certificate).
func readRSAPublicKey(path string) (*rsa.PublicKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY_FILE: %w", err)
	}
	k, err := jwt.ParseRSAPublicKeyFromPEM(b)
	if err != nil {
		return nil, fmt.Errorf("JWT_PUBLIC_KEY_FILE=%s: not a PEM RSA public key: %w", path, err)
	}
	return k, nil
}
