package reflow

// wrapped is an error with the SDK's context in front of the cause it wraps, so that
// errors.Is and errors.As reach the cause (encoding/json's *SyntaxError, for one). It does
// what fmt.Errorf("...: %w", err) does without package fmt, which the SDK keeps out of
// plugins (see the package doc, "Avoid package fmt").
type wrapped struct {
	context string
	cause   error
}

func (e *wrapped) Error() string { return e.context + ": " + e.cause.Error() }
func (e *wrapped) Unwrap() error { return e.cause }

// wrap returns cause with context in front of its text.
func wrap(context string, cause error) error { return &wrapped{context: context, cause: cause} }
