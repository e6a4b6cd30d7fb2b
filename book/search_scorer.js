// Search ranking of the course's website. Sphinx gives every page that holds all the query's words the
// same score and then orders them by title, so "random labels" listed chapters 4 and 5 before chapter 6.
// Here a page whose own title holds a query word (its first five letters, so "random" finds
// "Randomization") ranks above pages that only mention it.
var Scorer = {
  score: ([docname, title, anchor, descr, score]) => {
    const query = new URLSearchParams(window.location.search).get("q") ?? "";
    const words = query.toLowerCase().match(/\p{L}{4,}/gu) ?? [];
    const page = title.split(" > ")[0].toLowerCase();
    return score + 10 * words.filter((word) => page.includes(word.slice(0, 5))).length;
  },
  // Sphinx's defaults for the rest.
  objNameMatch: 11,
  objPartialMatch: 6,
  objPrio: { 0: 15, 1: 5, 2: -5 },
  objPrioDefault: 0,
  title: 15,
  partialTitle: 7,
  term: 5,
  partialTerm: 2,
};
