"""One module per page kind; each holds its router, contexts and builders."""
