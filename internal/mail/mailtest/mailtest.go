// Package mailtest runs a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1:0 for tests, and keeps what arrived, parsed: any package's test
// points GUILDHALL_SMTP_* (or a mail.SMTP sender) at it and reads the mail.
package mailtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/guildhall/guildhall/internal/config"
)

// Message is one mail as it arrived.
type Message struct {
	// From and To are the envelope (MAIL FROM, RCPT TO).
	From string
	To   []string
	// Header is the parsed header; Subject is decoded (RFC 2047).
	Header  mail.Header
	Subject string
	// Text and HTML are the decoded bodies of those types.
	Text, HTML string
	// Raw is the message as received.
	Raw []byte
}

// MessageID is the Message-ID without its angle brackets.
func (m Message) MessageID() string {
	return strings.Trim(m.Header.Get("Message-Id"), "<>")
}

// Server is an SMTP server for one test.
type Server struct {
	Host string
	Port int

	srv   *smtp.Server
	roots *x509.CertPool
	user  string
	pass  string

	mu      sync.Mutex
	msgs    []Message
	failing []error // refusals of the next DATA commands, in order
	arrived chan struct{}
}

// Option configures a Server.
type Option func(*Server)

// WithSTARTTLS offers STARTTLS with a certificate made for 127.0.0.1;
// RootCAs trusts it.
func WithSTARTTLS() Option {
	return func(s *Server) {
		cert, roots, err := selfSigned()
		if err != nil {
			panic(err)
		}
		s.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.roots = roots
	}
}

// WithAuth requires AUTH PLAIN with this user and password.
func WithAuth(user, pass string) Option {
	return func(s *Server) { s.user, s.pass = user, pass }
}

// Start starts a server on 127.0.0.1:0, stopped when the test ends.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{arrived: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(backend{s})
	s.srv.Domain = "mailtest.localhost"
	s.srv.ReadTimeout = 10 * time.Second
	s.srv.WriteTimeout = 10 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.MaxRecipients = 50
	for _, o := range opts {
		o(s)
	}
	// Authentication over plain TCP is for tests without STARTTLS only.
	s.srv.AllowInsecureAuth = s.srv.TLSConfig == nil
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().(*net.TCPAddr)
	s.Host, s.Port = addr.IP.String(), addr.Port
	go func() { _ = s.srv.Serve(lis) }()
	t.Cleanup(func() { _ = s.srv.Close() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// Config is the GUILDHALL_SMTP_* settings that reach this server.
func (s *Server) Config() config.SMTP {
	c := config.SMTP{Host: s.Host, Port: int64(s.Port), From: "Guildhall <guildhall@example.org>", TLS: "none",
		Username: s.user, Password: s.pass}
	if s.roots != nil {
		c.TLS = "mandatory"
	}
	return c
}

// Env is Config as environment variables, for a process under test.
func (s *Server) Env() map[string]string {
	c := s.Config()
	env := map[string]string{
		"GUILDHALL_SMTP_HOST": c.Host, "GUILDHALL_SMTP_PORT": strconv.Itoa(s.Port),
		"GUILDHALL_SMTP_FROM": c.From, "GUILDHALL_SMTP_TLS": c.TLS,
	}
	if c.Username != "" {
		env["GUILDHALL_SMTP_USERNAME"], env["GUILDHALL_SMTP_PASSWORD"] = c.Username, c.Password
	}
	return env
}

// RootCAs trusts the server's certificate (WithSTARTTLS); nil otherwise.
func (s *Server) RootCAs() *x509.CertPool { return s.roots }

// Fail makes the next DATA commands fail with these SMTP codes, in order
// (e.g. 451 a temporary failure, 550 a permanent one).
func (s *Server) Fail(codes ...int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range codes {
		s.failing = append(s.failing, &smtp.SMTPError{Code: c, Message: "refused by the test"})
	}
}

// Messages returns what has arrived so far, in order.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// To returns what has arrived for one address (envelope recipient).
func (s *Server) To(addr string) []Message {
	var out []Message
	for _, m := range s.Messages() {
		for _, to := range m.To {
			if strings.EqualFold(to, addr) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// Wait waits until cond holds for what has arrived, failing the test
// after timeout; it returns the messages that satisfied it.
func (s *Server) Wait(t testing.TB, timeout time.Duration, what string, cond func([]Message) bool) []Message {
	t.Helper()
	deadline := time.After(timeout)
	for {
		msgs := s.Messages()
		if cond(msgs) {
			return msgs
		}
		select {
		case <-s.arrived:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatalf("mailtest: after %s still waiting for %s; %d messages arrived: %s", timeout, what, len(msgs), summary(msgs))
		}
	}
}

// WaitN waits until at least n messages have arrived.
func (s *Server) WaitN(t testing.TB, n int, timeout time.Duration) []Message {
	t.Helper()
	return s.Wait(t, timeout, fmt.Sprintf("%d messages", n), func(m []Message) bool { return len(m) >= n })
}

func summary(msgs []Message) string {
	var b strings.Builder
	for _, m := range msgs {
		fmt.Fprintf(&b, "\n  to %v: %q", m.To, m.Subject)
	}
	return b.String()
}

func (s *Server) add(m Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	select {
	case s.arrived <- struct{}{}:
	default:
	}
}

func (s *Server) nextFailure() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failing) == 0 {
		return nil
	}
	err := s.failing[0]
	s.failing = s.failing[1:]
	return err
}

type backend struct{ s *Server }

func (b backend) NewSession(*smtp.Conn) (smtp.Session, error) { return &session{s: b.s}, nil }

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

var _ smtp.AuthSession = (*session)(nil)

func (se *session) AuthMechanisms() []string {
	if se.s.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (se *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		if user != se.s.user || pass != se.s.pass {
			return errors.New("invalid credentials")
		}
		se.authed = true
		return nil
	}), nil
}

func (se *session) Mail(from string, _ *smtp.MailOptions) error {
	if se.s.user != "" && !se.authed {
		return smtp.ErrAuthRequired
	}
	se.from = from
	return nil
}

func (se *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	se.to = append(se.to, to)
	return nil
}

func (se *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := se.s.nextFailure(); err != nil {
		return err
	}
	m, err := Parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: "unparsable message: " + err.Error()}
	}
	m.From, m.To = se.from, append([]string(nil), se.to...)
	se.s.add(m)
	return nil
}

func (se *session) Reset()        { se.from, se.to = "", nil }
func (se *session) Logout() error { return nil }

// Parse reads a raw message: header, and the text/plain and text/html
// parts of a single-part or multipart body, decoded.
func Parse(raw []byte) (Message, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	m := Message{Header: msg.Header, Raw: raw}
	dec := new(mime.WordDecoder)
	if m.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Message{}, err
	}
	err = m.readPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	return m, err
}

func (m *Message) readPart(contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain"
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return err
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if err := m.readPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64Reader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	switch mt {
	case "text/plain":
		m.Text += string(b)
	case "text/html":
		m.HTML += string(b)
	}
	return nil
}

func selfSigned() (tls.Certificate, *x509.CertPool, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "mailtest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, roots, nil
}

// base64Reader decodes a base64 body; the decoder skips line breaks.
func base64Reader(r io.Reader) io.Reader { return base64.NewDecoder(base64.StdEncoding, r) }
