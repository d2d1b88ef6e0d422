"""amortized: AVICI-style amortized structure learning in PyTorch (Lorch et al., NeurIPS 2022),
trained on dagbench's own simulators.

Pieces: ``model.AviciNet`` (the network: x [B, n, d, 2] -> edge logits [B, d, d]),
``objective`` (edge cross-entropy, spectral-radius acyclicity, dual ascent), ``data.Domain``
(the training distribution, a mixture of simulators/ plugins), ``train.train`` (resumable
training; the workflow's ``train_amortized`` target), ``checkpoint`` (model files; the shipped
one), ``sampling`` (acyclic DAG samples from edge probabilities). The method plugin is
methods/amortized.py.
"""
