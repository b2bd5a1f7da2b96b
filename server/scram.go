package server

import (
	"bufio"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgproto3"
)

// scramIterations is the PBKDF2 iteration count of the SCRAM-SHA-256
// verifiers: PostgreSQL's default (scram_iterations = 4096), the minimum
// RFC 7677 §4 asks for.
const scramIterations = 4096

// ReadPasswordFile reads lines user:password (blank lines and lines
// starting with # are skipped).
func ReadPasswordFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		user, pw, ok := strings.Cut(line, ":")
		if !ok || user == "" || pw == "" {
			return nil, fmt.Errorf("%s:%d: expected user:password", path, n)
		}
		if _, dup := out[user]; dup {
			return nil, fmt.Errorf("%s:%d: user %q is listed twice", path, n, user)
		}
		out[user] = pw
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no user:password lines", path)
	}
	return out, nil
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// authenticate runs SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL
// does: the user is the startup message's; the SCRAM user name is
// ignored; channel binding is not offered. An unknown user goes through
// the same exchange with a random salt and fails at the end, so the
// answer does not tell which users exist.
func (c *conn) authenticate() error {
	fail := &pgError{code: "28P01", msg: fmt.Sprintf("password authentication failed for user %q", c.user)}
	c.be.Send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	if err := c.be.Flush(); err != nil {
		return err
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return err
	}
	msg, err := c.be.Receive()
	if err != nil {
		return err
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok {
		return &pgError{code: "08P01", msg: fmt.Sprintf("expected a SASL initial response, got %T", msg)}
	}
	if init.AuthMechanism != "SCRAM-SHA-256" {
		return &pgError{code: "28000", msg: fmt.Sprintf("SASL mechanism %q is not supported (SCRAM-SHA-256 is)", init.AuthMechanism)}
	}
	// client-first-message: gs2-header "n,," (or "y,,"), then n=user,r=nonce.
	cf := string(init.Data)
	var gs2, bare string
	switch {
	case strings.HasPrefix(cf, "n,,"), strings.HasPrefix(cf, "y,,"):
		gs2, bare = cf[:3], cf[3:]
	case strings.HasPrefix(cf, "p="):
		return &pgError{code: "28000", msg: "SCRAM channel binding is not supported: connect with channel_binding=disable or prefer"}
	default:
		return &pgError{code: "08P01", msg: "malformed SCRAM client-first-message"}
	}
	var clientNonce string
	for _, attr := range strings.Split(bare, ",") {
		if strings.HasPrefix(attr, "r=") {
			clientNonce = attr[2:]
		}
	}
	if clientNonce == "" {
		return &pgError{code: "08P01", msg: "malformed SCRAM client-first-message: no nonce"}
	}
	pw, known := c.srv.cfg.Passwords[c.user]
	salt := make([]byte, 16)
	snonce := make([]byte, 18)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	if _, err := rand.Read(snonce); err != nil {
		return err
	}
	if !known {
		pw = base64.StdEncoding.EncodeToString(snonce) // a password no one knows
	}
	nonce := clientNonce + base64.StdEncoding.EncodeToString(snonce)
	serverFirst := fmt.Sprintf("r=%s,s=%s,i=%d", nonce, base64.StdEncoding.EncodeToString(salt), scramIterations)
	c.be.Send(&pgproto3.AuthenticationSASLContinue{Data: []byte(serverFirst)})
	if err := c.be.Flush(); err != nil {
		return err
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return err
	}
	msg, err = c.be.Receive()
	if err != nil {
		return err
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return &pgError{code: "08P01", msg: fmt.Sprintf("expected a SASL response, got %T", msg)}
	}
	final := string(resp.Data)
	i := strings.LastIndex(final, ",p=")
	if i < 0 {
		return &pgError{code: "08P01", msg: "malformed SCRAM client-final-message: no proof"}
	}
	withoutProof, proofB64 := final[:i], final[i+3:]
	var cbind, fnonce string
	for _, attr := range strings.Split(withoutProof, ",") {
		switch {
		case strings.HasPrefix(attr, "c="):
			cbind = attr[2:]
		case strings.HasPrefix(attr, "r="):
			fnonce = attr[2:]
		}
	}
	if cbind != base64.StdEncoding.EncodeToString([]byte(gs2)) || fnonce != nonce {
		return &pgError{code: "08P01", msg: "SCRAM client-final-message does not match the exchange"}
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return fail
	}
	salted, err := pbkdf2.Key(sha256.New, pw, salt, scramIterations, sha256.Size)
	if err != nil {
		return err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	authMessage := bare + "," + serverFirst + "," + withoutProof
	clientSig := hmacSHA256(storedKey[:], authMessage)
	recovered := make([]byte, sha256.Size)
	for k := range recovered {
		recovered[k] = proof[k] ^ clientSig[k]
	}
	check := sha256.Sum256(recovered)
	if !known || subtle.ConstantTimeCompare(check[:], storedKey[:]) != 1 {
		return fail
	}
	serverKey := hmacSHA256(salted, "Server Key")
	serverSig := hmacSHA256(serverKey, authMessage)
	c.be.Send(&pgproto3.AuthenticationSASLFinal{Data: []byte("v=" + base64.StdEncoding.EncodeToString(serverSig))})
	return nil
}
