# Golden vectors (vectors/README.md): the C checker, run against the reference library, and the
# generator that rewrites the committed JSON. Included from the top-level Makefile.

VECTOR_CHECK := $(B)/bin/vector_check

$(VECTOR_CHECK): vectors/checker/vector_check.c $(LIB) | $(DEPS_OK)
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SAN) -MMD -MP $< $(LIB) -o $@ -lcjson $(LDLIBS)

.PHONY: vectors vectors-gen
# Checks every vector file; one "ok - vectors/<id>" line per vector.
vectors: $(VECTOR_CHECK)
	@BUILD=$(B) vectors/check.sh

# Rewrites vectors/*.json from vectors/gen/gen.py; commit the result.
vectors-gen:
	python3 vectors/gen/gen.py

# ci/run-tests runs vectors/check.sh; it needs the checker built.
check: $(VECTOR_CHECK)
