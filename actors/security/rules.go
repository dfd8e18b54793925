package security

import "fmt"

// Rule ids. They are part of the output contract: consumers may filter or
// suppress by id, so an id never changes meaning once published. The package
// documentation has the same list as a table.
const (
	ruleAWSAccessKey      = "secret.aws-access-key"
	ruleAWSSecretKey      = "secret.aws-secret-key"
	rulePrivateKey        = "secret.private-key"
	ruleGitHubToken       = "secret.github-token"
	ruleSlackToken        = "secret.slack-token"
	ruleStripeLiveKey     = "secret.stripe-live-key"
	ruleGoogleAPIKey      = "secret.google-api-key"
	ruleJWT               = "secret.jwt"
	ruleHardcodedSecret   = "secret.hardcoded-credential"
	rulePyEval            = "py.eval"
	rulePyExec            = "py.exec"
	rulePyOSSystem        = "py.os-system"
	rulePySubprocessShell = "py.subprocess-shell"
	rulePyPickle          = "py.pickle-load"
	rulePyYAMLLoad        = "py.yaml-load"
	ruleJSEval            = "js.eval"
	ruleJSNewFunction     = "js.new-function"
	ruleJSChildProcess    = "js.child-process-exec"
	ruleJSInnerHTML       = "js.inner-html"
	ruleJSDocumentWrite   = "js.document-write"
	ruleGoExecShell       = "go.exec-shell"
	ruleGoSQLConcat       = "go.sql-concat"
	ruleGoTLSSkipVerify   = "go.tls-skip-verify"
	ruleGoWeakHash        = "go.weak-hash"
	ruleParseError        = "parse-error"
)

// severityOf gives each rule its one severity, so a rule id alone tells a
// consumer how serious a finding is.
var severityOf = map[string]Severity{
	ruleAWSAccessKey:      Critical,
	ruleAWSSecretKey:      Critical,
	rulePrivateKey:        Critical,
	ruleGitHubToken:       Critical,
	ruleSlackToken:        Critical,
	ruleStripeLiveKey:     Critical,
	ruleGoogleAPIKey:      High,
	ruleJWT:               High,
	ruleHardcodedSecret:   High,
	rulePyEval:            High,
	rulePyExec:            High,
	rulePyOSSystem:        High,
	rulePySubprocessShell: High,
	rulePyPickle:          Medium,
	rulePyYAMLLoad:        Medium,
	ruleJSEval:            High,
	ruleJSNewFunction:     High,
	ruleJSChildProcess:    High,
	ruleJSInnerHTML:       Medium,
	ruleJSDocumentWrite:   Medium,
	ruleGoExecShell:       High,
	ruleGoSQLConcat:       High,
	ruleGoTLSSkipVerify:   High,
	ruleGoWeakHash:        Low,
	ruleParseError:        Info,
}

// newFinding builds a finding with the rule's severity.
func newFinding(file string, line int, rule, format string, args ...any) Finding {
	sev, ok := severityOf[rule]
	if !ok {
		// A rule missing from the table is a programming error caught by the
		// tests; report it as info rather than crash a scan.
		sev = Info
	}
	return Finding{File: file, Line: line, Rule: rule, Severity: sev, Message: fmt.Sprintf(format, args...)}
}
