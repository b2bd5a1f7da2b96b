// Package server serves a softdb database over the PostgreSQL wire
// protocol (version 3), so that psql, libpq, psycopg, pgx, JDBC and other
// PostgreSQL clients connect to it unchanged. Messages are read and
// written with pgx's pgproto3; each connection is a session (a
// softdb.Conn) with its own transaction.
package server

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softdb/softdb"
)

// Defaults of Config.
const (
	DefaultListen          = "127.0.0.1:5433"
	DefaultMaxConnections  = 100
	DefaultLockTimeout     = 5 * time.Second
	DefaultIdleTxTimeout   = 10 * time.Minute
	DefaultStallTimeout    = 30 * time.Second
	DefaultStartupTimeout  = 10 * time.Second
	DefaultMaxMessageBytes = 64 << 20
)

// Config configures a Server. The zero value serves loopback clients
// without passwords, with the defaults above.
type Config struct {
	// Passwords maps user names to passwords (the --password-file). When
	// set, clients authenticate with SCRAM-SHA-256 and may connect from
	// any address; when nil, only loopback clients are accepted and any
	// user name is.
	Passwords map[string]string
	// TLS, when set, is offered to clients that ask for it (sslmode=require).
	TLS *tls.Config
	// MaxConnections bounds the sessions open at once; one more gets
	// error 53300 and is closed.
	MaxConnections int
	// FilesDir, when set, is the one directory COPY … FROM/TO 'path' may
	// read and write (relative paths resolve against it); when empty,
	// COPY with a server path is refused. COPY … FROM STDIN / TO STDOUT
	// always works.
	FilesDir string
	// LockTimeout bounds a session's wait for another session's write
	// transaction (error 55P03 past it).
	LockTimeout time.Duration
	// IdleTxTimeout ends a session that stays idle inside a transaction
	// this long (its transaction is rolled back).
	IdleTxTimeout time.Duration
	// StallTimeout bounds the wait for the rest of a message once its
	// first byte has arrived, and the startup exchange.
	StallTimeout time.Duration
	// MaxMessageBytes bounds one protocol message; a longer length prefix
	// ends the connection with an error.
	MaxMessageBytes int
	// Logf, when set, receives one line per connection error.
	Logf func(format string, args ...any)
}

func (c *Config) defaults() {
	if c.MaxConnections <= 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.LockTimeout <= 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.IdleTxTimeout <= 0 {
		c.IdleTxTimeout = DefaultIdleTxTimeout
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = DefaultStallTimeout
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if c.Logf == nil {
		c.Logf = func(string, ...any) {}
	}
}

// Server serves one database.
type Server struct {
	db  *softdb.DB
	cfg Config

	mu       sync.Mutex
	ln       []net.Listener
	conns    map[uint32]*conn  // by process id
	raw      map[net.Conn]bool // every accepted connection, sessions or not yet
	sessions int               // connections past startup, for MaxConnections
	closing  bool
	nextPID  atomic.Uint32
	wg       sync.WaitGroup
}

// New returns a server for db. It does not own db: close db after
// Shutdown.
func New(db *softdb.DB, cfg Config) *Server {
	cfg.defaults()
	return &Server{db: db, cfg: cfg, conns: map[uint32]*conn{}, raw: map[net.Conn]bool{}}
}

// CheckListen refuses a non-loopback address without passwords: a
// database reachable from the network must ask who connects.
func CheckListen(addr string, passwords bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %v (write HOST:PORT, e.g. 127.0.0.1:5433)", addr, err)
	}
	if passwords {
		return nil
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen %s is not a loopback address: clients from the network must authenticate; give --password-file (lines user:password) or listen on 127.0.0.1", addr)
	}
	return nil
}

// Listen opens a TCP listener on addr after CheckListen.
func (s *Server) Listen(addr string) (net.Listener, error) {
	if err := CheckListen(addr, s.cfg.Passwords != nil); err != nil {
		return nil, err
	}
	return net.Listen("tcp", addr)
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("server: closed")

// Serve accepts connections on ln until Shutdown, serving each on its own
// goroutine.
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = append(s.ln, ln)
	s.mu.Unlock()
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, errTooManyFiles) {
				// Out of file descriptors or similar: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		if !s.startConn(nc) {
			nc.Close()
			continue
		}
		go func() {
			defer s.wg.Done()
			defer s.endConn(nc)
			s.serveConn(nc)
		}()
	}
}

// startConn registers a connection and its goroutine; false once
// closing.
func (s *Server) startConn(nc net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.raw[nc] = true
	s.wg.Add(1)
	return true
}

func (s *Server) endConn(nc net.Conn) {
	s.mu.Lock()
	delete(s.raw, nc)
	s.mu.Unlock()
}

// Shutdown stops accepting connections, cancels the statements running,
// tells every client the server is shutting down (57P01) and closes its
// connection, rolling back open transactions. It returns when all
// connections have ended, or with ctx's error when ctx ends first (the
// remaining connections are then closed abruptly).
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for _, ln := range s.ln {
		ln.Close()
	}
	conns := make([]*conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	for nc := range s.raw {
		// Connections still in their startup end at once; sessions are
		// woken by shutdown below.
		_ = nc.SetDeadline(time.Now())
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.shutdown()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for nc := range s.raw {
			nc.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}

// register makes c a session (after startup) unless the server is full or
// closing; it assigns its process id and secret key.
func (s *Server) register(c *conn) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return errShuttingDown
	}
	if s.sessions >= s.cfg.MaxConnections {
		return &pgError{code: "53300", severity: "FATAL", msg: fmt.Sprintf("sorry, too many clients already (the server allows %d connections: --max-connections)", s.cfg.MaxConnections)}
	}
	for {
		c.pid = s.nextPID.Add(1)
		if _, taken := s.conns[c.pid]; !taken && c.pid != 0 {
			break
		}
	}
	if _, err := rand.Read(c.secret[:]); err != nil {
		return err
	}
	s.conns[c.pid] = c
	s.sessions++
	return nil
}

func (s *Server) unregister(c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns[c.pid] == c {
		delete(s.conns, c.pid)
		s.sessions--
	}
}

// cancel handles a CancelRequest: the statement running on the session
// with that process id and secret key is cancelled. A wrong key is
// ignored, as PostgreSQL does.
func (s *Server) cancel(pid uint32, key []byte) {
	s.mu.Lock()
	c := s.conns[pid]
	s.mu.Unlock()
	if c == nil || len(key) != len(c.secret) || subtle.ConstantTimeCompare(key, c.secret[:]) != 1 {
		return
	}
	c.cancelStatement()
}

// Sessions returns the number of sessions open.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}
