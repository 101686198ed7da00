// Losses of nrem's training and attacks, and their gradient with respect to the
// pre-activations of the output layer, g = dLoss/dz_L, which backward() takes.
// Targets are an n × nL float matrix (one-hot rows or soft labels).
//
//   SquaredError:  loss_r = 1/2 Σ_j (a_j − y_j)²,  e = a − y
//     relu out:     g = e ⊙ [z > 0]
//     linear out:   g = e
//     softmax out:  g_j = a_j (e_j − Σ_k e_k a_k) / T          (a = softmax(z/T))
//     log-softmax:  g_j = (e_j − p_j Σ_k e_k) / T              (a = log p, p = softmax(z/T))
//   SquaredErrorRelease (the paper's training, as the authors' release computes it): the
//     same loss, but DeepLearnToolbox's nnbp takes g = e for a relu output too (`case
//     {'softmax','linear','relu'}: d{n} = -nn.e`): the gradient passes straight through
//     the output ReLU. Reaching the authors' clean accuracy needs this; attacks use the
//     true gradient (SquaredError).
//   SoftmaxCrossEntropy, on z_L:  p = softmax(z_L / T), T = the net's temperature for a
//     softmax or log-softmax output, 1 for a linear output (a relu output is refused: its prediction is
//     not the softmax's argmax when all z are negative)
//     loss_r = −Σ_j y_j log p_j,  g_j = (p_j Σ_k y_k − y_j) / T
//   Reduction Mean: loss = Σ_r loss_r / n and g divided by n (training: the batch mean);
//   Sum: loss = Σ_r loss_r and row r of g is the gradient of loss_r alone (attacks).
#pragma once
#include <string>

#include "backprop.h"
#include "model.h"

namespace nrem {

enum class LossKind { SquaredError = 0, SoftmaxCrossEntropy = 1, SquaredErrorRelease = 2 };
enum class Reduction { Mean = 0, Sum = 1 };

LossKind parse_loss(const std::string& name);  // "mse" | "mse-release" | "cross-entropy"; else ERR_VALUE

// Fills g (n × nL) from the cache of a forward pass and returns the reduced loss.
// per_row (optional, n entries) receives loss_r.
double loss_grad(const Model& net, const ForwardCache& cache, LossKind kind, const float* targets, float* g,
                 Reduction reduction, float* per_row = nullptr);

}  // namespace nrem
