"""The classic experiments of recurrent networks, run as studies: many ordinary runs in one
folder, a record of their results (``study.json``) and the study's figure."""
