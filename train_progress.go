package softdb

// SetTrainProgress installs fn to receive the progress of later TRAIN
// statements on this connection: the iteration just finished, the number
// of iterations asked for, and the loss. fn runs on the statement's
// goroutine; nil removes it.
func (c *Conn) SetTrainProgress(fn func(iter, total int, loss float64)) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	c.s.sess.SetTrainProgress(fn)
}
