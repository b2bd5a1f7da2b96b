package storage

import (
	"errors"
	"fmt"
	"log"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2"
)

// faults is what pebble reports of a DB from its own goroutines: data
// corruption, background errors, a disk without space. Written by
// pebble's event listener and logger, read by writers.
type faults struct {
	dir string
	// fatal is set when pebble hit an error it cannot continue after
	// (Logger.Fatalf, data corruption) outside a call of ours: the DB
	// takes no more writes and Close does not wait for pebble.
	fatal atomic.Pointer[error]
	// noSpace is set while the last flush failed (for lack of space, or
	// another write error): writers are refused with it rather than
	// stall; changed is closed when it is cleared or set again.
	mu       sync.Mutex
	noSpace  error
	changed  chan struct{}
	failures int // background errors in a row, for the backoff

	logMu      sync.Mutex
	lastLog    map[string]time.Time // by message format
	suppressed map[string]int
}

func newFaults(dir string) *faults {
	return &faults{dir: dir, changed: make(chan struct{}), lastLog: map[string]time.Time{}, suppressed: map[string]int{}}
}

// logEvery is how often one kind of message is logged at most.
const logEvery = 10 * time.Second

// logf logs a message, at most once every logEvery per format; the next
// one says how many were left out.
func (f *faults) logf(format string, args ...any) {
	f.logMu.Lock()
	now := time.Now()
	if t, ok := f.lastLog[format]; ok && now.Sub(t) < logEvery {
		f.suppressed[format]++
		f.logMu.Unlock()
		return
	}
	n := f.suppressed[format]
	f.lastLog[format] = now
	delete(f.suppressed, format)
	f.logMu.Unlock()
	msg := fmt.Sprintf(format, args...)
	if n > 0 {
		msg += fmt.Sprintf(" (%d similar messages in the last %v not shown)", n, logEvery)
	}
	log.Printf("softdb storage %s: %s", f.dir, msg)
}

func (f *faults) setFatal(err error) {
	f.fatal.CompareAndSwap(nil, &err)
}

// fatalErr returns the error that stopped the DB, or nil.
func (f *faults) fatalErr() error {
	if p := f.fatal.Load(); p != nil {
		return *p
	}
	return nil
}

// spaceErr returns the out-of-space error writes fail with, or nil, and a
// channel closed when that changes.
func (f *faults) spaceErr() (error, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.noSpace, f.changed
}

func (f *faults) setNoSpace(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && f.noSpace == nil {
		return
	}
	if err != nil && errors.Is(err, syscall.ENOSPC) {
		err = noSpaceError(err)
	} else if err != nil {
		err = fmt.Errorf("the storage engine cannot flush its memtables to disk, writes are refused until it can: %w", err)
	}
	f.noSpace = err
	close(f.changed)
	f.changed = make(chan struct{})
}

// noSpaceError wraps err, which matches syscall.ENOSPC, so that it also
// matches ErrNoSpace and says what to do.
func noSpaceError(err error) error {
	if errors.Is(err, ErrNoSpace) {
		return err
	}
	return &spaceError{err}
}

type spaceError struct{ err error }

func (e *spaceError) Error() string {
	return "no space left on device: free some disk space and retry the write (" + e.err.Error() + ")"
}
func (e *spaceError) Unwrap() []error { return []error{ErrNoSpace, e.err} }

// backoff slows pebble's retries of a failing flush or compaction: pebble
// reschedules one as soon as it fails, which on a full or read-only disk
// spins a core. It runs on pebble's goroutine (holding pebble's mutex,
// which writers wait for anyway while flushes fail).
func (f *faults) backoff() {
	f.mu.Lock()
	f.failures++
	n := f.failures
	f.mu.Unlock()
	d := 10 * time.Millisecond << min(n-1, 7)
	time.Sleep(min(d, time.Second))
}

func (f *faults) succeeded() {
	f.mu.Lock()
	f.failures = 0
	f.mu.Unlock()
	f.setNoSpace(nil)
}

// eventListener turns pebble's events into f's state and rate-limited log
// lines.
func (f *faults) eventListener() *pebble.EventListener {
	return &pebble.EventListener{
		BackgroundError: func(err error) {
			f.logf("background error: %v", err)
			if errors.Is(err, syscall.ENOSPC) {
				f.setNoSpace(err)
			}
			f.backoff()
		},
		DataCorruption: func(info pebble.DataCorruptionInfo) {
			err := corruptFile(info.Path, -1, firstLine(info.Details), info.Details)
			f.logf("%v", err)
			f.setFatal(err)
		},
		FlushEnd: func(info pebble.FlushInfo) {
			// pebble reports a flush that wrote no sstable (the memtable
			// held only an ingestion, or deletions) as "empty table".
			if info.Err == nil || info.Err.Error() == "pebble: empty table" {
				f.succeeded()
			} else {
				f.setNoSpace(info.Err)
			}
		},
		CompactionEnd: func(info pebble.CompactionInfo) {
			if info.Err == nil {
				f.mu.Lock()
				f.failures = 0
				f.mu.Unlock()
			}
		},
	}
}

// logger is pebble's logger: informational messages are dropped, errors
// logged (rate-limited), and fatal errors never end the process.
type logger struct{ f *faults }

func (logger) Infof(string, ...any) {}

func (l logger) Errorf(format string, args ...any) { l.f.logf(format, args...) }

// Fatalf is pebble's report of an error it cannot go on after. Within a
// call of this package (Open, a commit, a load), it panics with a
// fatalError that the call recovers and returns. On one of pebble's own
// goroutines there is no caller to return it to, and a panic would end
// the host program: the error is recorded (the DB then refuses writes and
// Close does not wait for pebble) and that goroutine ends.
func (l logger) Fatalf(format string, args ...any) {
	var err error = &causedError{fmt.Sprintf(format, args...), nil}
	for _, a := range args {
		if e, ok := a.(error); ok {
			err.(*causedError).cause = e
			break
		}
	}
	if onOurStack() {
		panic(fatalError{err})
	}
	l.f.logf("fatal: %v", err)
	l.f.setFatal(fatalError{err})
	runtime.Goexit()
}

// onOurStack reports whether the calling goroutine runs a function of
// this package (below pebble), which recovers a fatalError.
func onOurStack() bool {
	pcs := make([]uintptr, 64)
	n := runtime.Callers(3, pcs)
	frames := runtime.CallersFrames(pcs[:n])
	for {
		fr, more := frames.Next()
		if strings.HasPrefix(fr.Function, "github.com/softdb/softdb/storage.") {
			return true
		}
		if !more {
			return false
		}
	}
}

// causedError is pebble's message with the error it names, so that
// errors.Is sees through it (a write's ENOSPC, say).
type causedError struct {
	msg   string
	cause error
}

func (e *causedError) Error() string { return e.msg }
func (e *causedError) Unwrap() error { return e.cause }

// fatalError is an error pebble could not handle in place; after it the
// pebble instance must not take more writes.
type fatalError struct{ err error }

func (e fatalError) Error() string { return e.err.Error() }
func (e fatalError) Unwrap() error { return e.err }

// recoverFatal converts a panic from pebble (a Fatalf, or an I/O error it
// panics with) into *err.
func recoverFatal(err *error) {
	if r := recover(); r != nil {
		switch r := r.(type) {
		case runtime.Error:
			panic(r)
		case fatalError:
			*err = r
		case error:
			*err = fatalError{r}
		default:
			panic(r)
		}
	}
}

// classify gives an error from pebble its class: corruption (ErrCorrupt)
// or a full disk (ErrNoSpace); others are returned as they are.
func classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrCorrupt):
		return err
	case pebble.IsCorruptionError(err), isContentError(err):
		return &CorruptionError{Offset: -1, File: corruptPath(err), Msg: firstLine(err), Err: err}
	case errors.Is(err, syscall.ENOSPC):
		return noSpaceError(err)
	}
	return err
}

var fileNumRE = regexp.MustCompile(`(?:file|table|wal|log) "?(\d{6})\b`)

// corruptPath picks the file named in pebble's corruption message, if any.
func corruptPath(err error) string {
	msg := err.Error()
	for _, w := range strings.Fields(msg) {
		w = strings.Trim(w, `"():,`)
		if strings.HasSuffix(w, ".sst") || strings.HasSuffix(w, ".log") || strings.Contains(w, "MANIFEST-") || strings.Contains(w, "OPTIONS-") {
			return w
		}
	}
	if m := fileNumRE.FindStringSubmatch(msg); m != nil {
		return m[1] + ".sst"
	}
	return unknownFile
}

const unknownFile = "(a file of the store)"

// firstLine is an error message without the detail lines pebble's errors
// may add.
func firstLine(err error) string {
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// isContentError reports whether an error of pebble's Open is about what
// the files hold rather than the system: no errno other than "no such
// file" (a file the MANIFEST lists is missing) in its chain.
func isContentError(err error) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno == syscall.ENOENT
	}
	return !errors.Is(err, ErrLocked) && !errors.Is(err, ErrReadOnly)
}
