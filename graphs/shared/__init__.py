"""What every generation graph uses: run context, state base, the structured generate/validate
loop, study sets (quiz, flashcards), source labelling, JSON parsing, progress and usage."""
