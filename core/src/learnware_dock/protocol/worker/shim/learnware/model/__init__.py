"""``learnware.model.BaseModel`` as in learnware 0.4.0: the shapes and the method names
(whose bodies do nothing, as there)."""

from typing import Any


class BaseModel:
    """Base class of learnware models: ``input_shape``/``output_shape`` and the methods."""

    def __init__(self, input_shape: tuple[int, ...], output_shape: tuple[int, ...]) -> None:
        self.input_shape = input_shape
        self.output_shape = output_shape

    def predict(self, X: Any) -> Any:
        pass

    def fit(self, X: Any, y: Any) -> None:
        pass

    def finetune(self, X: Any, y: Any) -> None:
        pass

    def get_model(self) -> Any:
        pass
