package paper

import (
	"slices"
	"strconv"
)

// UpvoteMilestones are the Hugging Face upvote counts a card's badge shows ("50+"): a card is edited when the
// upvotes cross one, never for every vote.
var UpvoteMilestones = [...]int{10, 25, 50, 100, 250}

// UpvoteMilestone is the highest milestone n has reached, 0 below the first.
func UpvoteMilestone(n int) int {
	m := 0
	for _, v := range UpvoteMilestones {
		if n >= v {
			m = v
		}
	}
	return m
}

// VersionLabel is how a card names the paper's version: "v2", "v3", and "" for the first version or an unknown
// one, which a card does not mention.
func VersionLabel(p *Paper) string {
	if p.Version < 2 {
		return ""
	}
	return "v" + strconv.Itoa(p.Version)
}

// Card changes, as CardChanges names them (for logs and tests).
const (
	ChangeVersion    = "version"
	ChangeUpvotes    = "upvotes"
	ChangeCode       = "code"
	ChangeProject    = "project"
	ChangeJournal    = "journal_ref"
	ChangeDOI        = "doi"
	ChangeCategories = "categories"
)

// CardChanges lists what a posted card of old would show differently for upd, the stored paper after a poll: a new
// version (the card shows its text and "v2"), an upvote milestone crossed, a code link or project page that
// appeared or moved, a journal reference or DOI that appeared, categories a cross-list added. Other changes (one
// more upvote, a new source, a comment) are not worth an edit. Every store applies this one rule.
func CardChanges(old, upd *Paper) []string {
	var out []string
	add := func(changed bool, what string) {
		if changed {
			out = append(out, what)
		}
	}
	add(VersionLabel(old) != VersionLabel(upd) || (upd.Version > old.Version && (old.Title != upd.Title || old.Abstract != upd.Abstract)), ChangeVersion)
	add(UpvoteMilestone(old.Upvotes) != UpvoteMilestone(upd.Upvotes), ChangeUpvotes)
	add(upd.GitHubRepo != "" && upd.GitHubRepo != old.GitHubRepo, ChangeCode)
	add(upd.ProjectPage != "" && upd.ProjectPage != old.ProjectPage, ChangeProject)
	add(upd.JournalRef != "" && upd.JournalRef != old.JournalRef, ChangeJournal)
	add(upd.DOI != "" && upd.DOI != old.DOI, ChangeDOI)
	add(!slices.Equal(old.Categories, upd.Categories), ChangeCategories)
	return out
}
