package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
	"github.com/softdb/softdb"
	"github.com/softdb/softdb/query"
)

var (
	errShuttingDown = &pgError{code: "57P01", severity: "FATAL", msg: "terminating connection due to administrator command (the server is shutting down)"}
	errTooManyFiles = syscall.EMFILE
)

// statementTimeoutMsg is PostgreSQL's message for a statement that
// statement_timeout ended.
const statementTimeoutMsg = "canceling statement due to statement timeout"

// conn is one client connection: after startup, one session.
type conn struct {
	srv    *Server
	nc     net.Conn
	rd     *deadlineReader
	be     *pgproto3.Backend
	pid    uint32
	secret [4]byte
	user   string

	db   *softdb.Conn
	sess *session

	// stmts and portals of the extended query protocol; "" is the
	// unnamed one.
	stmts   map[string]*prepared
	portals map[string]*portal
	parsed  map[string]query.Statement // recent statements by text (query.go)
	// skipToSync is set after an error in the extended protocol: messages
	// are discarded until Sync.
	skipToSync bool
	// pendingBegin: the client sent BEGIN; softdb's transaction starts at
	// the first write (tx.go).
	pendingBegin bool
	// implicit: the statements being run, outside BEGIN, share one
	// transaction (several in a Query string, or up to Sync); implicitTx:
	// softdb's open transaction is that one, not an explicit one (tx.go).
	implicit   bool
	implicitTx bool
	// unflushed counts the messages answered since the last flush.
	unflushed int
	// rowBuf is sendRows' buffer, kept between results.
	rowBuf []byte
	// failedTx: a statement failed (or SAVEPOINT … was refused) inside
	// an explicit transaction, so it is aborted: nothing but ROLLBACK (or
	// COMMIT, which rolls back) runs until it ends.
	failedTx bool
	// startSess is the session as the startup packet set it, what RESET
	// and DISCARD ALL return to.
	startSess *session

	mu      sync.Mutex
	cancelF context.CancelFunc // of the running statement, or nil
	closing bool               // Shutdown has begun
}

// deadlineReader bounds how long the rest of a message may take once its
// first bytes have arrived: a client that stalls mid-message loses its
// connection, while an idle client (between messages) may wait as long
// as the idle deadline allows.
type deadlineReader struct {
	nc    net.Conn
	stall time.Duration
	armed bool
}

func (r *deadlineReader) Read(p []byte) (int, error) {
	n, err := r.nc.Read(p)
	if n > 0 && !r.armed {
		r.armed = true
		_ = r.nc.SetReadDeadline(time.Now().Add(r.stall))
	}
	return n, err
}

// idle sets the deadline for the first byte of the next message (zero:
// none).
func (r *deadlineReader) idle(deadline time.Time) {
	r.armed = false
	_ = r.nc.SetReadDeadline(deadline)
}

func (s *Server) serveConn(nc net.Conn) {
	c := &conn{srv: s, nc: nc, stmts: map[string]*prepared{}, portals: map[string]*portal{}, parsed: map[string]query.Statement{}}
	defer nc.Close()
	defer func() {
		// A bug must cost one connection, not the server.
		if r := recover(); r != nil {
			s.cfg.Logf("connection from %s: internal error: %v", nc.RemoteAddr(), r)
			c.fatal(&pgError{code: "XX000", msg: fmt.Sprintf("internal error: %v", r)})
		}
	}()
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	c.setConn(nc)
	if err := c.startup(); err != nil {
		if !isQuiet(err) {
			s.cfg.Logf("connection from %s: %v", nc.RemoteAddr(), err)
		}
		c.fatal(err)
		return
	}
	defer s.unregister(c)
	defer c.db.Close()
	err := c.loop()
	if err != nil && !isQuiet(err) {
		s.cfg.Logf("connection %d from %s: %v", c.pid, nc.RemoteAddr(), err)
	}
	c.fatal(err)
}

// isQuiet reports errors that end a connection normally: the client
// went away.
func isQuiet(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (c *conn) setConn(nc net.Conn) {
	c.nc = nc
	c.rd = &deadlineReader{nc: nc, stall: c.srv.cfg.StallTimeout}
	c.be = pgproto3.NewBackend(c.rd, nc)
	c.be.SetMaxBodyLen(c.srv.cfg.MaxMessageBytes)
}

// fatal sends a last error to the client, if there is one worth sending,
// before the connection closes.
func (c *conn) fatal(err error) {
	if err == nil || isQuiet(err) {
		return
	}
	var pe *pgError
	if !errors.As(err, &pe) {
		pe = protocolError(err)
	}
	last := *pe // pe may be shared (errShuttingDown)
	last.severity = "FATAL"
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	c.be.Send(last.response())
	_ = c.be.Flush()
}

// protocolError describes a malformed message or a read failure.
func protocolError(err error) *pgError {
	var tooLong *pgproto3.ExceededMaxBodyLenErr
	if errors.As(err, &tooLong) {
		return &pgError{code: "54000", msg: fmt.Sprintf("message of %d bytes is longer than the server accepts (%d bytes); the connection is closed", tooLong.ActualBodyLen, tooLong.MaxExpectedBodyLen)}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return &pgError{code: "08006", msg: "the client stopped in the middle of a message (read timeout); the connection is closed"}
	}
	return &pgError{code: "08P01", msg: fmt.Sprintf("invalid message: %v; the connection is closed", err)}
}

// startup runs the startup exchange: TLS, protocol version, the
// connection limit, authentication, and the parameters a client expects.
func (c *conn) startup() error {
	cfg := &c.srv.cfg
	deadline := time.Now().Add(cfg.StallTimeout)
	_ = c.nc.SetDeadline(deadline)
	defer c.nc.SetDeadline(time.Time{})
	if cfg.Passwords == nil && !isLoopback(c.nc.RemoteAddr()) {
		return &pgError{code: "28000", msg: fmt.Sprintf("connections from %s are refused: the server has no password file, so it accepts loopback clients only", c.nc.RemoteAddr())}
	}
	tlsDone := false
	for {
		msg, err := c.be.ReceiveStartupMessage()
		if err != nil {
			return err
		}
		switch m := msg.(type) {
		case *pgproto3.SSLRequest:
			if cfg.TLS == nil || tlsDone {
				if _, err := c.nc.Write([]byte{'N'}); err != nil {
					return err
				}
				continue
			}
			if _, err := c.nc.Write([]byte{'S'}); err != nil {
				return err
			}
			tc := tls.Server(c.nc, cfg.TLS)
			if err := tc.Handshake(); err != nil {
				return fmt.Errorf("TLS handshake: %w", err)
			}
			tlsDone = true
			c.setConn(tc)
			_ = tc.SetDeadline(deadline)
		case *pgproto3.GSSEncRequest:
			if _, err := c.nc.Write([]byte{'N'}); err != nil {
				return err
			}
		case *pgproto3.CancelRequest:
			c.srv.cancel(m.ProcessID, m.SecretKey)
			return io.EOF // a cancel request connection closes without a reply
		case *pgproto3.StartupMessage:
			return c.start(m)
		default:
			return fmt.Errorf("unexpected startup message %T", msg)
		}
	}
}

func isLoopback(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a.Network() == "unix" || a.Network() == "pipe"
	}
	return ta.IP.IsLoopback()
}

func (c *conn) start(m *pgproto3.StartupMessage) error {
	if m.ProtocolVersion != pgproto3.ProtocolVersion30 {
		// 3.2 would need longer cancel keys; ask for 3.0.
		c.be.Send(&pgproto3.NegotiateProtocolVersion{NewestMinorProtocol: 0})
	}
	for k, v := range m.Parameters {
		if err := checkUTF8(fmt.Sprintf("startup parameter %q: ", k), []byte(k+v)); err != nil {
			return err
		}
	}
	if v, ok := m.Parameters["replication"]; ok {
		if on, known := parseBool(v); on || !known {
			return &pgError{code: "0A000", severity: "FATAL", msg: "replication connections are not supported: softdb has no write-ahead log to stream (connect without replication=…)"}
		}
	}
	c.user = m.Parameters["user"]
	if c.user == "" {
		return &pgError{code: "28000", msg: "no user name given in the startup message"}
	}
	if err := c.srv.register(c); err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			c.srv.unregister(c)
		}
	}()
	if c.srv.cfg.Passwords != nil {
		if err := c.authenticate(); err != nil {
			return err
		}
	}
	c.db = c.srv.db.Conn()
	c.db.SetLockTimeout(c.srv.cfg.LockTimeout)
	sess, err := newSession(m.Parameters)
	if err != nil {
		return err
	}
	c.startSess, c.sess = sess, sess.clone()
	c.be.Send(&pgproto3.AuthenticationOk{})
	for _, p := range c.sess.startupStatus() {
		c.be.Send(p)
	}
	c.be.Send(&pgproto3.BackendKeyData{ProcessID: c.pid, SecretKey: c.secret[:]})
	c.be.Send(&pgproto3.ReadyForQuery{TxStatus: 'I'})
	if err := c.be.Flush(); err != nil {
		c.db.Close()
		return err
	}
	ok = true
	return nil
}

// shutdown cancels the running statement and wakes the connection's
// reader, which then ends the session with 57P01.
func (c *conn) shutdown() {
	c.mu.Lock()
	c.closing = true
	if c.cancelF != nil {
		c.cancelF()
	}
	c.mu.Unlock()
	// Wake a Receive, and a write to a client that does not read.
	_ = c.nc.SetDeadline(time.Now())
}

func (c *conn) isClosing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closing
}

// statementContext returns the context of one statement, which a
// CancelRequest or Shutdown cancels, and statement_timeout ends.
func (c *conn) statementContext() (context.Context, func()) {
	return c.context(c.sess.statementTimeout)
}

// context returns a context that a CancelRequest or Shutdown cancels,
// ending after timeout unless it is 0.
func (c *conn) context(timeout time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	if timeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, timeout)
		parent := cancel
		cancel = func() { stop(); parent() }
	}
	c.mu.Lock()
	c.cancelF = cancel
	if c.closing {
		cancel()
	}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		c.cancelF = nil
		c.mu.Unlock()
		cancel()
	}
}

func (c *conn) cancelStatement() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancelF != nil {
		c.cancelF()
	}
}

func (c *conn) txStatus() byte {
	if c.failedTx {
		return 'E'
	}
	if c.pendingBegin || c.db.InTx() {
		return 'T'
	}
	return 'I'
}

// loop reads and answers messages until the client leaves.
func (c *conn) loop() error {
	for {
		var deadline time.Time
		inTx := c.db.InTx()
		if inTx {
			deadline = time.Now().Add(c.srv.cfg.IdleTxTimeout)
		}
		c.rd.idle(deadline)
		// After idle: a Shutdown that sets its deadline later wakes the
		// Receive below; one that came before is seen here.
		if c.isClosing() {
			return errShuttingDown
		}
		msg, err := c.be.Receive()
		if err != nil {
			if c.isClosing() {
				return errShuttingDown
			}
			if inTx && !c.rd.armed && errors.Is(err, os.ErrDeadlineExceeded) {
				return &pgError{code: "25P03", msg: fmt.Sprintf("terminating connection due to idle-in-transaction timeout (%v); the transaction was rolled back", c.srv.cfg.IdleTxTimeout)}
			}
			return err
		}
		_ = c.nc.SetReadDeadline(time.Time{})
		if c.skipToSync {
			switch msg.(type) {
			case *pgproto3.Sync:
				c.skipToSync = false
			case *pgproto3.Terminate:
				return nil
			default:
				continue
			}
		}
		switch m := msg.(type) {
		case *pgproto3.Query:
			if err := checkUTF8("", []byte(m.String)); err != nil {
				c.sendError(err)
			} else {
				c.simpleQuery(m.String)
			}
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
		case *pgproto3.Parse:
			c.parse(m)
		case *pgproto3.Bind:
			c.bind(m)
		case *pgproto3.Describe:
			c.describe(m)
		case *pgproto3.Execute:
			c.execute(m)
		case *pgproto3.Close:
			if m.ObjectType == 'S' {
				delete(c.stmts, m.Name)
			} else {
				delete(c.portals, m.Name)
			}
			c.be.Send(&pgproto3.CloseComplete{})
		case *pgproto3.Sync:
			delete(c.portals, "")
			if err := c.endImplicit(false); err != nil {
				c.sendError(err)
			}
			c.be.Send(&pgproto3.ReadyForQuery{TxStatus: c.txStatus()})
		case *pgproto3.Flush:
		case *pgproto3.Terminate:
			return nil
		case *pgproto3.CopyData, *pgproto3.CopyDone, *pgproto3.CopyFail:
			// Left over from a COPY that already failed: ignored, as
			// PostgreSQL does.
			continue
		case *pgproto3.FunctionCall:
			c.sendError(&pgError{code: "0A000", msg: "the function call protocol is not supported"})
		default:
			return fmt.Errorf("unexpected message %T", msg)
		}
		c.unflushed++
		switch msg.(type) {
		case *pgproto3.Query, *pgproto3.Sync, *pgproto3.Flush:
			if err := c.flush(); err != nil {
				return err
			}
		default:
			if err := c.flushSome(); err != nil {
				return err
			}
		}
	}
}

// flushEvery is how many messages, or statements of one Query, are
// answered before the answers are written without waiting for Sync or
// the end of the string: a long pipeline streams its results rather than
// piling them up in memory.
const flushEvery = 256

// flushSome flushes once flushEvery answers are waiting.
func (c *conn) flushSome() error {
	if c.unflushed < flushEvery {
		return nil
	}
	return c.flush()
}

// flush writes the buffered answers. A client that stops reading them
// for StallTimeout loses its connection, rather than holding the session
// (and perhaps the write lock) forever.
func (c *conn) flush() error {
	c.unflushed = 0
	if !c.isClosing() { // Shutdown's deadline wakes a blocked write
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.srv.cfg.StallTimeout))
	}
	err := c.be.Flush()
	if errors.Is(err, os.ErrDeadlineExceeded) && !c.isClosing() {
		return &pgError{code: "08006", msg: fmt.Sprintf("the client read no answer for %v (write timeout); the connection is closed", c.srv.cfg.StallTimeout)}
	}
	return err
}

// sendError reports err; in the extended protocol the messages up to the
// next Sync are then skipped.
func (c *conn) sendError(err error) {
	pe := asPgError(err)
	c.be.Send(pe.response())
}

// extError reports an error of an extended-protocol message.
func (c *conn) extError(err error) {
	c.failStatement()
	c.sendError(err)
	c.skipToSync = true
}

// notice sends a NoticeResponse.
func (c *conn) notice(msg string) {
	c.be.Send(&pgproto3.NoticeResponse{Severity: "NOTICE", SeverityUnlocalized: "NOTICE", Code: "00000", Message: msg})
}

func trimStatement(s string) string {
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
}
