"""The HTTP edge: the ``@endpoint`` decorator every HTTP function is built with, token
verification, and the API's request and response models. It may import anything below it; nothing
below imports it."""
