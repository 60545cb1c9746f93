package targets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Auth adds credentials to a request right before it is sent.
type Auth interface {
	apply(t *vegeta.Target, v *Vars) error
}

// Bearer sends a static token as Authorization: Bearer.
type Bearer struct{ Token string }

func (b Bearer) apply(t *vegeta.Target, _ *Vars) error {
	t.Header["Authorization"] = []string{"Bearer " + b.Token}
	return nil
}

// Default header names of HMAC signing, as Openverse's Cloudflare rule
// reads them.
const (
	DefaultHMACHeader          = "x-ov-cf-mac"
	DefaultHMACTimestampHeader = "x-ov-cf-timestamp"
)

// HMAC signs each request: the MAC of the request target as sent (path and
// ?query, exactly as encoded on the wire) followed by the Unix time in
// seconds, with HMAC-SHA256 keyed by the secret's bytes, in URL-safe base64
// without padding. The time goes in TimestampHeader, the MAC in Header.
type HMAC struct {
	Secret          []byte
	Header          string
	TimestampHeader string
}

func (h HMAC) apply(t *vegeta.Target, v *Vars) error {
	u, err := url.Parse(t.URL)
	if err != nil {
		return err
	}
	stamp := strconv.FormatInt(v.Now.Unix(), 10)
	t.Header[h.TimestampHeader] = []string{stamp}
	t.Header[h.Header] = []string{SignHMAC(h.Secret, u.RequestURI(), stamp)}
	return nil
}

// SignHMAC returns the MAC of target (path and query as sent) and stamp.
func SignHMAC(secret []byte, target, stamp string) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(target))
	mac.Write([]byte(stamp))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// JWT mints a token per request, or per simulated user when the claims
// depend on nothing else, and sends it as Authorization: Bearer. Claims
// without exp get one TTL after issue, and iat.
type JWT struct {
	method jwt.SigningMethod
	key    any
	claims *Template
	ttl    time.Duration
	cache  []userToken // by user, when the claims are per user
}

type userToken struct {
	mu      sync.Mutex
	token   string
	renewAt time.Time
}

// NewJWT returns a JWT minter. key is an HMAC secret (HS256) or a PEM
// private key, RSA (RS256) or EC P-256 (ES256). claims is a JSON object
// template.
func NewJWT(secret []byte, pemKey []byte, claims string, ttl time.Duration, users int) (*JWT, error) {
	j := &JWT{ttl: ttl}
	switch {
	case len(secret) > 0 && len(pemKey) > 0:
		return nil, errors.New("give a secret or a private key, not both")
	case len(secret) > 0:
		j.method, j.key = jwt.SigningMethodHS256, secret
	case len(pemKey) > 0:
		if k, err := jwt.ParseRSAPrivateKeyFromPEM(pemKey); err == nil {
			j.method, j.key = jwt.SigningMethodRS256, k
		} else if k, err := jwt.ParseECPrivateKeyFromPEM(pemKey); err == nil {
			if k.Curve.Params().Name != "P-256" {
				return nil, fmt.Errorf("EC key on %s; want P-256 for ES256", k.Curve.Params().Name)
			}
			j.method, j.key = jwt.SigningMethodES256, k
		} else {
			return nil, errors.New("not a PEM RSA or EC private key")
		}
	default:
		return nil, errors.New("no key")
	}
	t, err := Parse(claims, InBody)
	if err != nil {
		return nil, err
	}
	var probe map[string]any
	if err := json.Unmarshal([]byte(t.Render(&Vars{Now: time.Now()})), &probe); err != nil {
		return nil, fmt.Errorf("%q is not a JSON object: %v", claims, err)
	}
	j.claims = t
	if t.PerUser() {
		j.cache = make([]userToken, max(1, users))
	}
	// Mint once now, so a key that cannot sign fails before the load.
	if _, err := j.mint(&Vars{Now: time.Now()}); err != nil {
		return nil, err
	}
	return j, nil
}

func (j *JWT) mint(v *Vars) (string, error) {
	var claims jwt.MapClaims
	if err := json.Unmarshal([]byte(j.claims.Render(v)), &claims); err != nil {
		return "", fmt.Errorf("claims are not a JSON object: %v", err)
	}
	if _, ok := claims["iat"]; !ok {
		claims["iat"] = v.Now.Unix()
	}
	if _, ok := claims["exp"]; !ok {
		claims["exp"] = v.Now.Add(j.ttl).Unix()
	}
	return jwt.NewWithClaims(j.method, claims).SignedString(j.key)
}

func (j *JWT) apply(t *vegeta.Target, v *Vars) error {
	var token string
	if j.cache == nil {
		var err error
		if token, err = j.mint(v); err != nil {
			return err
		}
	} else {
		slot := &j.cache[v.User%len(j.cache)]
		slot.mu.Lock()
		if slot.token == "" || !v.Now.Before(slot.renewAt) {
			minted, err := j.mint(v)
			if err != nil {
				slot.mu.Unlock()
				return err
			}
			// Renewed at half its life, a token never reaches a server
			// about to expire.
			slot.token, slot.renewAt = minted, v.Now.Add(j.ttl/2)
		}
		token = slot.token
		slot.mu.Unlock()
	}
	t.Header["Authorization"] = []string{"Bearer " + token}
	return nil
}

// OAuth sends an OAuth2 client-credentials token as Authorization: Bearer.
// One goroutine fetches tokens and renews each when two thirds of its life
// have passed, so workers never wait on the token endpoint and it sees one
// request per renewal.
type OAuth struct {
	source  oauth2.TokenSource
	current atomic.Pointer[oauth2.Token]
	logf    func(string, ...any)
}

// NewOAuth fetches the first token (an error here is a setup error: the
// endpoint refused the credentials) and keeps it fresh until ctx is done.
func NewOAuth(ctx context.Context, cfg clientcredentials.Config, logf func(string, ...any)) (*OAuth, error) {
	o := &OAuth{source: cfg.TokenSource(ctx), logf: logf}
	token, err := o.source.Token()
	if err != nil {
		return nil, explainOAuth(err)
	}
	o.current.Store(token)
	go o.keepFresh(ctx, cfg)
	return o, nil
}

func (o *OAuth) keepFresh(ctx context.Context, cfg clientcredentials.Config) {
	retry := time.Second
	for {
		token := o.current.Load()
		if token.Expiry.IsZero() {
			return // never expires
		}
		wait := time.Until(token.Expiry) * 2 / 3
		if ctx.Err() == nil && wait > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			return
		}
		// A new source per renewal: the cached one would hand back the
		// token it holds until that token is all but expired.
		fresh, err := cfg.TokenSource(ctx).Token()
		if err != nil {
			o.logf("oauth: renewing the token failed, retrying in %s: %v", retry, explainOAuth(err))
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, 30*time.Second)
			continue
		}
		retry = time.Second
		o.current.Store(fresh)
	}
}

func (o *OAuth) apply(t *vegeta.Target, _ *Vars) error {
	t.Header["Authorization"] = []string{"Bearer " + o.current.Load().AccessToken}
	return nil
}

// explainOAuth keeps the token endpoint's verdict and drops what could
// echo a credential.
func explainOAuth(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return fmt.Errorf("the token endpoint answered %d %s", status, re.ErrorCode)
		}
		return fmt.Errorf("the token endpoint answered %d", status)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("the token endpoint could not be reached: %v", ue.Err)
	}
	return errors.New("the token endpoint's answer held no usable token")
}
