package accounts

import (
	"context"
	"errors"
	"strings"
)

// UserFilter selects accounts in lists. Text is a mobile number or an e-mail
// address (matched exactly, as the account logs in) or the beginning of a
// name (any case).
type UserFilter struct {
	OperatorID string
	Role       Role
	Text       string
}

// UserPage is one page of a list of accounts, with how many match in all.
type UserPage struct {
	Items []User
	Total int
}

// Users returns every account matching f. Without a login in Text it reads
// the entries of the filter's most selective key (an operator's people, a
// name's beginning, a role), so ask for a page (ListUsers) where the key may
// be large.
func (s *Service) Users(ctx context.Context, f UserFilter) ([]User, error) {
	p, err := s.ListUsers(ctx, f, 1, 0)
	return p.Items, err
}

// ListUsers returns page (from 1) of perPage accounts matching f, in the
// order they were made, and how many match; perPage 0 returns them all. Every
// read is by _id (store_index.go): a list with one key (everyone, a role, an
// operator) reads only its page and counts by probing; a list with more
// (a name and a role, say) reads every entry of its most selective key and
// filters those.
func (s *Service) ListUsers(ctx context.Context, f UserFilter, page, perPage int) (UserPage, error) {
	q := strings.TrimSpace(f.Text)
	if page < 1 {
		page = 1
	}
	if q != "" {
		if key := LoginKey(q); key != "" {
			return s.userByLogin(ctx, key, f, page, perPage)
		}
	}
	key, exact := keyAll, true
	switch {
	case q != "":
		key, exact = nameKey(q), false
	case f.OperatorID != "":
		key, exact = operatorKey(f.OperatorID), f.Role == ""
	case f.Role != "":
		key = roleKey(f.Role)
	}
	if exact && perPage > 0 {
		total, err := s.store.indexCount(ctx, key, 0)
		if err != nil {
			return UserPage{}, err
		}
		from := int64((page-1)*perPage) + 1
		ids, err := s.store.indexRange(ctx, key, from, from+int64(perPage)-1)
		if err != nil {
			return UserPage{}, err
		}
		users, err := s.loadUsers(ctx, ids, func(User) bool { return true })
		return UserPage{Items: users, Total: int(total)}, err
	}
	ids, err := s.store.indexAll(ctx, key)
	if err != nil {
		return UserPage{}, err
	}
	lower := strings.ToLower(q)
	users, err := s.loadUsers(ctx, ids, func(u User) bool {
		return (f.Role == "" || u.Role == f.Role) && (f.OperatorID == "" || u.OperatorID == f.OperatorID) &&
			strings.HasPrefix(strings.ToLower(u.Name), lower)
	})
	if err != nil {
		return UserPage{}, err
	}
	return pageUsers(users, page, perPage), nil
}

// userByLogin finds the one account logging in with key, when it matches f.
func (s *Service) userByLogin(ctx context.Context, key string, f UserFilter, page, perPage int) (UserPage, error) {
	l, err := s.store.login(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return UserPage{Items: []User{}}, nil
	}
	if err != nil {
		return UserPage{}, err
	}
	users, err := s.loadUsers(ctx, []string{l.UserID}, func(u User) bool {
		return (f.Role == "" || u.Role == f.Role) && (f.OperatorID == "" || u.OperatorID == f.OperatorID)
	})
	if err != nil {
		return UserPage{}, err
	}
	return pageUsers(users, page, perPage), nil
}

// loadUsers reads the accounts ids by _id, keeping those keep accepts.
// Accounts not (or no longer) there, and those still being made, are left out.
func (s *Service) loadUsers(ctx context.Context, ids []string, keep func(User) bool) ([]User, error) {
	out := []User{}
	for _, id := range ids {
		d, err := s.store.user(ctx, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if u := d.toUser(); d.Status != pending && keep(u) {
			out = append(out, u)
		}
	}
	return out, nil
}

func pageUsers(all []User, page, perPage int) UserPage {
	p := UserPage{Items: all, Total: len(all)}
	if perPage <= 0 {
		return p
	}
	from := (page - 1) * perPage
	if from >= len(all) {
		p.Items = []User{}
		return p
	}
	p.Items = all[from:min(from+perPage, len(all))]
	return p
}
